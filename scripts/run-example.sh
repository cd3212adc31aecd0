#!/usr/bin/env bash
# README command #1: the example functions' test suites against their images,
# built on the stand-in base (no registry needed).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/setup.sh"
export TESTCONTAINERS_RYUK_DISABLED=true
run_example() {
  local example=$1 base=$2
  shift 2
  printf '\n== examples/%s (on %s)\n' "$example" "$base"
  (cd "$here/examples/$example" &&
    "$here/.venv/bin/python" -m pytest --lambda-build-arg "BASE_IMAGE=$base" "$@")
}
for example in python-function http-api-function; do
  run_example "$example" pytest-lambda-image/python-base:3.11 "$@"
done
run_example orders-function pytest-lambda-image/python-base:3.11 "$@"
run_example node-function pytest-lambda-image/nodejs-base:20 "$@"
