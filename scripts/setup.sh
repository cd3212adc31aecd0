#!/usr/bin/env bash
# Everything the example and the project's tests need, from a bare machine.
# Idempotent: each step skips what is already there.
#
#   scripts/setup.sh          Docker engine, .venv with the plugin, RIE, stand-in base image
#
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

step() { printf '\n== %s\n' "$*" >&2; }

step "Docker engine"
scripts/ensure-docker.sh

step "Python environment (.venv)"
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

step "Test tools from Debian (docker-registry for the pull tests, gcc for static test runtimes)"
missing=()
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || missing+=(libc6-dev)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: missing ${missing[*]}; the tests that need them will be skipped" >&2
  fi
fi

step "Runtime Interface Emulator"
.venv/bin/python -m pytest_lambda_image fetch-rie

step "Stand-in Lambda Python base image"
PYTHON=.venv/bin/python scripts/build-base-image.sh
