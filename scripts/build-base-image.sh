#!/usr/bin/env bash
# Build the stand-in Lambda Python base image offline (no registry needed):
# the Debian bookworm root filesystem (scripts/build-rootfs-image.sh), plus
# awslambdaric (wheels fetched from PyPI on the host), the RIE and an entrypoint
# with the AWS base image's contract. Idempotent: an image whose inputs did
# not change is kept.
#
#   scripts/build-base-image.sh [TAG]      default TAG: pytest-lambda-image/python-base:3.11
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
tag=${1:-pytest-lambda-image/python-base:3.11}
rootfs_tag=pytest-lambda-image/debian-rootfs:bookworm
src=$here/images/python-base
python=${PYTHON:-python3}

inputs_hash=$(cat "$src"/* "$0" | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{ index .Config.Labels "pytest-lambda-image.inputs" }}' "$tag" 2>/dev/null)" = "$inputs_hash" ]; then
  echo "build-base-image: $tag is up to date" >&2
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$here/scripts/build-rootfs-image.sh" "$rootfs_tag"

ctx=$work/context
mkdir -p "$ctx/wheels"
cp "$src"/* "$ctx/"
# Bookworm's python3 is 3.11: fetch matching manylinux wheels on the host.
"$python" -m pip download --quiet --disable-pip-version-check --dest "$ctx/wheels" \
  --only-binary=:all: --platform manylinux2014_x86_64 --python-version 3.11 \
  --implementation cp awslambdaric==4.2.2
cp "$("$python" -m pytest_lambda_image fetch-rie --arch x86_64)" "$ctx/aws-lambda-rie"

echo "build-base-image: building $tag" >&2
docker build --quiet --label "pytest-lambda-image.inputs=$inputs_hash" \
  --build-arg "ROOTFS_IMAGE=$rootfs_tag" -t "$tag" "$ctx" >/dev/null
echo "build-base-image: built $tag" >&2
