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
if [ ! -x .venv/bin/pip ]; then
  rm -rf .venv
  if ! python3 -m venv .venv 2>/dev/null; then
    # Debian's python3 needs python3-venv for this
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      rm -rf .venv && python3 -m venv .venv
    else
      echo "setup: python3 -m venv failed; install python3-venv" >&2
      exit 1
    fi
  fi
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test]'

step "Test tools from Debian (registry for pull tests, static and arm64 compilers, arm64 emulation)"
missing=()
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || missing+=(libc6-dev)
if [ "$(uname -m)" = x86_64 ]; then
  command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || missing+=(gcc-aarch64-linux-gnu)
  [ -e /usr/aarch64-linux-gnu/lib/libc.a ] || missing+=(libc6-dev-arm64-cross)
  [ -e /usr/lib/binfmt.d/qemu-aarch64.conf ] || missing+=(qemu-user-static)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "setup: missing ${missing[*]}; the tests that need them will fail" >&2
  fi
fi

if [ "$(uname -m)" = x86_64 ] && [ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]; then
  step "arm64 emulation (binfmt_misc) for linux/arm64 images"
  {
    [ -e /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
    cat /usr/lib/binfmt.d/qemu-aarch64.conf > /proc/sys/fs/binfmt_misc/register
  } || echo "setup: could not register qemu-aarch64 with binfmt_misc; the arm64 tests will fail" >&2
fi

step "Runtime Interface Emulator"
.venv/bin/python -m pytest_lambda_image fetch-rie

step "Stand-in Lambda Python base image"
PYTHON=.venv/bin/python scripts/build-base-image.sh
