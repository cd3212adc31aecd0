#!/usr/bin/env bash
# README command #1: the example function's test suite against its image,
# built on the stand-in base (no registry needed).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/setup.sh"
cd "$here/examples/python-function"
export TESTCONTAINERS_RYUK_DISABLED=true
exec "$here/.venv/bin/python" -m pytest --lambda-build-arg BASE_IMAGE=pytest-lambda-image/python-base:3.11 "$@"
