# One image for every member state's node and for the Locust load generator (`prum kube render`).
#   docker build -t prum:latest .
# Build arguments (all optional):
#   BASE_IMAGE       a Python 3.11 image with python3 and its venv module (default: the official python:3.11-slim);
#                    where no registry is reachable, `deploy/docker/build-debian-base.sh` makes one from Debian
#                    packages: docker build --build-arg BASE_IMAGE=prum-base:debian -t prum:latest .
#   EXTRA_CA_CERTS   PEM text of the CA that a TLS-intercepting proxy signs with, trusted by pip during the build:
#                    --build-arg EXTRA_CA_CERTS="$(cat proxy-ca.pem)"
#   PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_TRUSTED_HOST: a site's package index (a PyPI mirror); HTTPS_PROXY and
#                    the other proxy variables are Docker's predefined build args.
# The node runs as uid/gid 10001 and needs nothing written outside /var/lib/prum (its volume) and /tmp (a tmpfs or
# emptyDir), so the root filesystem can be read-only. The numba kernels are compiled at build time into
# /opt/prum/numba-cache; a node copies that cache to $NUMBA_CACHE_DIR (/tmp, writable: numba only uses a cache
# folder it can write) at start and loads its kernels from it instead of compiling them (seconds, not a minute).
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    OPENBLAS_NUM_THREADS=1 \
    LANG=C.UTF-8 \
    PATH=/opt/prum/venv/bin:$PATH \
    NUMBA_CACHE_DIR=/tmp/prum-numba-cache \
    PRUM_NUMBA_CACHE_SEED=/opt/prum/numba-cache \
    MPLCONFIGDIR=/tmp/matplotlib

RUN groupadd --gid 10001 prum \
    && useradd --uid 10001 --gid 10001 --home-dir /var/lib/prum --no-create-home --shell /usr/sbin/nologin prum \
    && python3 -m venv /opt/prum/venv

ARG EXTRA_CA_CERTS=
ARG PIP_INDEX_URL
ARG PIP_EXTRA_INDEX_URL
ARG PIP_TRUSTED_HOST

# The dependencies first, from pyproject.toml alone: a change to the code does not download them again.
COPY deploy/docker/pip-install.sh /opt/prum/pip-install.sh
COPY pyproject.toml /src/pyproject.toml
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/src/pyproject.toml', 'rb'))['project']['dependencies']))" \
        > /tmp/requirements.txt \
    && /opt/prum/pip-install.sh -r /tmp/requirements.txt \
    && rm /tmp/requirements.txt

COPY README.md /src/
COPY protos /src/protos
COPY services /src/services
COPY federation /src/federation
COPY loadtests /src/loadtests
# Installed, not editable, then compiled where it is installed: numba's cache is keyed by the source file's path
# and contents. Compiled with the seed folder as numba's cache, so the image carries the kernels.
RUN /opt/prum/pip-install.sh --no-deps /src \
    && rm -rf /src \
    && PRUM_NUMBA_CACHE_SEED= NUMBA_CACHE_DIR=/opt/prum/numba-cache python -c \
        "from prum.federation.runtime.launcher import compile_kernels; print(f'numba kernels compiled in {compile_kernels():.1f} s')" \
    && chmod -R a+rX,go-w /opt/prum/numba-cache \
    && test -n "$(find /opt/prum/numba-cache -name '*.nbi' -print -quit)"

USER 10001:10001
WORKDIR /var/lib/prum
EXPOSE 50051
ENTRYPOINT []
CMD ["prum", "--help"]
