#!/usr/bin/env bash
# A stand-in for python:3.11-slim made from Debian packages alone, for sites whose build machines reach a Debian
# mirror but no image registry (police networks are often air-gapped):
#
#   sudo deploy/docker/build-debian-base.sh                  # tags prum-base:debian
#   docker build --build-arg BASE_IMAGE=prum-base:debian -t prum:latest .
#
# It runs debootstrap (a minimal Debian 12 "bookworm": python3 3.11, python3-venv, python3-pip, ca-certificates)
# into a temporary folder, trims it and `docker import`s it. Needs root, debootstrap (installed with apt when
# missing) and a Docker engine.
# Settings (environment):
#   PRUM_BASE_TAG     the tag to give (default prum-base:debian; also the first argument)
#   DEBIAN_MIRROR     the Debian mirror to install from (default: the first one of this machine's apt sources,
#                     else http://deb.debian.org/debian); an internal mirror on an air-gapped network
#   DEBIAN_SUITE      default bookworm (Python 3.11, as the official image)
#   EXTRA_CA_FILE     a PEM file of a site CA, added to the base's trust store (update-ca-certificates)
# With no Debian mirror at all: build the base (and the prum image) on a connected machine, then carry it over:
#   docker save prum-base:debian prum:latest | gzip > prum-images.tar.gz   # ... and there: docker load -i prum-images.tar.gz
set -euo pipefail
tag=${1:-${PRUM_BASE_TAG:-prum-base:debian}}
suite=${DEBIAN_SUITE:-bookworm}
mirror=${DEBIAN_MIRROR:-}
if [ -z "$mirror" ]; then
    mirror=$( (grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}' | grep -v security;
               grep -hs '^deb ' /etc/apt/sources.list | awk '{print $2}') | head -1 || true)
    mirror=${mirror:-http://deb.debian.org/debian}
fi
[ "$(id -u)" = 0 ] || { echo "build-debian-base.sh: needs root (debootstrap, chroot)" >&2; exit 1; }
if ! command -v debootstrap >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null
fi
rootfs=$(mktemp -d /var/tmp/prum-base.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT

echo "build-debian-base: debootstrap $suite from $mirror"
debootstrap --variant=minbase --include=python3,python3-venv,python3-pip,ca-certificates \
    "$suite" "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || { tail -20 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"

if [ -n "${EXTRA_CA_FILE:-}" ]; then
    cp "$EXTRA_CA_FILE" "$rootfs/usr/local/share/ca-certificates/prum-extra-ca.crt"
    chroot "$rootfs" update-ca-certificates >/dev/null
fi
# As the official image: `python` is python3; apt's sources name the mirror it was built from. Then trim.
ln -sf python3 "$rootfs/usr/bin/python"
printf 'deb %s %s main\n' "$mirror" "$suite" > "$rootfs/etc/apt/sources.list"
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/*.log \
       "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/* \
       "$rootfs"/tmp/* "$rootfs"/var/tmp/*
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} + 2>/dev/null || true

echo "build-debian-base: docker import as $tag"
tar --numeric-owner -C "$rootfs" -c . | docker import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["python3"]' \
    --message "Debian $suite minbase with python3, python3-venv, python3-pip (deploy/docker/build-debian-base.sh)" \
    - "$tag" >/dev/null
docker run --rm "$tag" python3 -c "import sys, venv, ensurepip; print('build-debian-base: $tag:', sys.version.split()[0])"
