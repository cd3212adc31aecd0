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
.venv/bin/python -m pip install --quiet --disable-pip-version-check -e '.[test,lint]'

step "Tools from Debian (registry for pull tests, static and arm64 compilers, arm64 emulation, aws-lambda-ric's native build)"
missing=()
command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
command -v ssh-agent >/dev/null 2>&1 || missing+=(openssh-client)  # the build's SSH forwarding test
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)  # the remote engine reached over ssh:// (remote-engine.sh)
# npm builds aws-lambda-ric's addon (curl, aws-lambda-cpp) from source for the Node.js base image
for tool in make cmake g++ autoconf automake; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
command -v libtoolize >/dev/null 2>&1 || missing+=(libtool)
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
command -v go >/dev/null 2>&1 || missing+=(golang-go)  # the Go (provided.al2023-style) test function
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || missing+=(libc6-dev)
if [ "$(uname -m)" = x86_64 ]; then
  command -v aarch64-linux-gnu-gcc >/dev/null 2>&1 || missing+=(gcc-aarch64-linux-gnu)
  [ -e /usr/aarch64-linux-gnu/lib/libc.a ] || missing+=(libc6-dev-arm64-cross)
  [ -e /usr/lib/binfmt.d/qemu-aarch64.conf ] || missing+=(qemu-user-static)
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    # Packages such as openssh-server and docker-registry start their services
    # when installed; the tests start their own, so keep the machine's from starting.
    own_policy=
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && own_policy=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
    if [ -n "$own_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
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

step "Wheels for examples/orders-function (its image installs boto3 from them: builds have no network)"
if [ ! -e examples/orders-function/wheels/.complete ]; then
  .venv/bin/python -m pip download --quiet --disable-pip-version-check \
    -r examples/orders-function/requirements.txt -d examples/orders-function/wheels
  touch examples/orders-function/wheels/.complete
fi

step "Wheels for tests/images/moto-server (moto's server in a container, as motoserver/moto)"
moto_wheels=tests/images/moto-server/wheels
moto_version=$(.venv/bin/python -c 'import moto; print(moto.__version__)')
if [ "$(cat "$moto_wheels/.complete" 2>/dev/null)" != "$moto_version" ]; then
  rm -rf "$moto_wheels"
  .venv/bin/python -m pip download --quiet --disable-pip-version-check "moto[server]==$moto_version" -d "$moto_wheels"
  echo "$moto_version" > "$moto_wheels/.complete"
fi

step "Stand-in Lambda Node.js 20 base image"
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && [ "$(node --version | cut -d. -f1)" = v20 ]; then
  PYTHON=.venv/bin/python scripts/build-nodejs-base-image.sh
else
  # Debian bookworm's own nodejs is 18: the image copies the host's Node.js 20
  echo "setup: Node.js 20 and npm are needed on the host for pytest-lambda-image/nodejs-base:20;" \
    "the Node.js tests and examples/node-function will fail without it" >&2
fi
