#!/usr/bin/env bash
# The Debian bookworm root filesystem the stand-in Lambda base images start
# from (images/python-base, images/nodejs-base): made with mmdebstrap from the
# host's apt sources and imported into Docker, so no registry is needed.
# Idempotent: nothing happens when the image is already there.
#
#   scripts/build-rootfs-image.sh [TAG]    default TAG: pytest-lambda-image/debian-rootfs:bookworm
set -euo pipefail

tag=${1:-pytest-lambda-image/debian-rootfs:bookworm}

if docker image inspect "$tag" >/dev/null 2>&1; then
  exit 0
fi

if ! command -v mmdebstrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null
  else
    echo "build-rootfs-image: mmdebstrap is needed (apt-get install mmdebstrap)" >&2
    exit 1
  fi
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "build-rootfs-image: creating a bookworm root filesystem with mmdebstrap" >&2
# python3 and pip serve the Python base; apt already brings libstdc++ and
# libgcc_s, all the host's Node.js binary needs besides glibc.
mmdebstrap --quiet --variant=apt --include=python3,python3-pip,ca-certificates \
  bookworm "$work/rootfs.tar"
docker import "$work/rootfs.tar" "$tag" >/dev/null
echo "build-rootfs-image: imported $tag" >&2
