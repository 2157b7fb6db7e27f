#!/bin/sh
# `pip install "$@"` inside the image build (Dockerfile), with the build's CA bundle and index options:
#   EXTRA_CA_CERTS   PEM text of extra CA certificates (a TLS-intercepting proxy's), trusted by pip for this
#                    install only, on top of pip's own bundle; nothing of it stays in the image's files
#   PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_TRUSTED_HOST, PIP_FIND_LINKS and the proxy variables
#                    (HTTPS_PROXY, ...) reach pip as environment variables when given as build args
set -eu
bundle=""
if [ -n "${EXTRA_CA_CERTS:-}" ]; then
    bundle=$(mktemp /tmp/pip-ca.XXXXXX)
    base=$(python -c "from pip._vendor import certifi; print(certifi.where())")
    { cat "$base"; printf '\n%s\n' "$EXTRA_CA_CERTS"; } > "$bundle"
    export PIP_CERT="$bundle"
fi
status=0
pip install --no-cache-dir --disable-pip-version-check "$@" || status=$?
[ -z "$bundle" ] || rm -f "$bundle"
exit "$status"
