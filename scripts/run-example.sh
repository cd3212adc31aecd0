#!/usr/bin/env bash
# README command #1: the example functions' test suites against their images,
# built on the stand-in base (no registry needed).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/setup.sh"
export TESTCONTAINERS_RYUK_DISABLED=true
for example in python-function http-api-function; do
  printf '\n== examples/%s\n' "$example"
  (cd "$here/examples/$example" &&
    "$here/.venv/bin/python" -m pytest --lambda-build-arg BASE_IMAGE=pytest-lambda-image/python-base:3.11 "$@")
done
