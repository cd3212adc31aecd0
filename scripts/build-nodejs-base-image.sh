#!/usr/bin/env bash
# Build the stand-in Lambda Node.js 20 base image offline (no registry needed):
# the Debian bookworm root filesystem (scripts/build-rootfs-image.sh), the
# host's node binary and npm, aws-lambda-ric built with npm on the host, the RIE
# and an entrypoint with the AWS base image's contract. Idempotent: an image
# whose inputs did not change is kept, and the npm build (it compiles curl and
# aws-lambda-cpp, minutes on two cores) is cached per version.
#
#   scripts/build-nodejs-base-image.sh [TAG]   default TAG: pytest-lambda-image/nodejs-base:20
#
# Needs on the host: node 20 and npm (NODE=/path/to/node picks another node;
# its npm must sit beside it or on PATH), and for the first npm build make,
# cmake, g++, autoconf, automake and libtool (scripts/setup.sh installs them).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
tag=${1:-pytest-lambda-image/nodejs-base:20}
rootfs_tag=pytest-lambda-image/debian-rootfs:bookworm
src=$here/images/nodejs-base
python=${PYTHON:-python3}
ric_version=${AWS_LAMBDA_RIC_VERSION:-3.3.0}
node=${NODE:-$(command -v node || true)}

say() { echo "build-nodejs-base-image: $*" >&2; }

if [ -z "$node" ] || [ ! -x "$node" ]; then
  say "node is needed on the host (Node.js 20); set NODE=/path/to/node"
  exit 1
fi
node=$(readlink -f "$node")
node_version=$("$node" --version)
case "$node_version" in
  v20.*) ;;
  *) say "$node is $node_version; the image is a Node.js 20 base and aws-lambda-ric $ric_version needs Node 20"; exit 1 ;;
esac
npm_dir=$("$node" -e 'console.log(require("path").resolve(process.execPath, "../../lib/node_modules/npm"))')
[ -f "$npm_dir/bin/npm-cli.js" ] || npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
if [ ! -f "$npm_dir/bin/npm-cli.js" ]; then
  say "npm is needed on the host next to $node"
  exit 1
fi
npm=("$node" "$npm_dir/bin/npm-cli.js")
# The node binary is dynamically linked against glibc, libstdc++ and libgcc_s:
# the Debian rootfs has them (apt needs them too), and glibc must not be older
# than the host's. Bookworm hosts and the bookworm rootfs match.

"$here/scripts/build-rootfs-image.sh" "$rootfs_tag"

# --- aws-lambda-ric, built once per version with the host's npm -------------
platform=$("$node" -p 'process.platform + "-" + process.arch')
cache_root=${XDG_CACHE_HOME:-$HOME/.cache}/pytest-lambda-image/aws-lambda-ric
node_major=${node_version#v}
node_major=${node_major%%.*}
ric_dir=$cache_root/$ric_version-node$node_major-$platform
ric_pkg=$ric_dir/node_modules/aws-lambda-ric
if [ -f "$ric_dir/.complete" ] && [ -f "$ric_pkg/dist/rapid-client.node" ]; then
  say "aws-lambda-ric $ric_version: cached in $ric_dir"
else
  missing=()
  for tool in make cmake g++ autoconf automake libtoolize; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    say "building aws-lambda-ric needs ${missing[*]} (scripts/setup.sh installs them)"
    exit 1
  fi
  say "aws-lambda-ric $ric_version: npm install (compiles curl and aws-lambda-cpp; minutes)"
  mkdir -p "$cache_root"
  staging=$(mktemp -d "$cache_root/.build-XXXXXX")
  trap 'rm -rf "$staging"' EXIT
  started=$(date +%s)
  # PATH: node-gyp and the package's scripts run `node`: the same one.
  if ! (cd "$staging" && PATH="$(dirname "$node"):$PATH" "${npm[@]}" install --no-save --no-package-lock \
        --no-audit --no-fund --omit=dev --foreground-scripts --loglevel=error \
        "aws-lambda-ric@$ric_version" >"$staging/npm.log" 2>&1); then
    tail -n 40 "$staging/npm.log" >&2
    say "npm install aws-lambda-ric@$ric_version failed (log above)"
    exit 1
  fi
  if [ ! -f "$staging/node_modules/aws-lambda-ric/dist/rapid-client.node" ]; then
    say "npm install left no aws-lambda-ric/dist/rapid-client.node (see $staging/npm.log)"
    trap - EXIT
    exit 1
  fi
  touch "$staging/.complete"
  chmod 0755 "$staging"
  rm -rf "$ric_dir"
  mv "$staging" "$ric_dir"
  trap - EXIT
  say "aws-lambda-ric $ric_version: built in $(($(date +%s) - started)) s, cached in $ric_dir"
fi

# --- the image ---------------------------------------------------------------
rootfs_id=$(docker image inspect -f '{{ .Id }}' "$rootfs_tag")
inputs_hash=$({
  cat "$src"/* "$0"
  echo "$rootfs_id ric=$ric_version node=$node_version npm=$("${npm[@]}" --version)"
  sha256sum "$node"
} | sha256sum | cut -c1-16)
if [ "$(docker image inspect -f '{{ index .Config.Labels "pytest-lambda-image.inputs" }}' "$tag" 2>/dev/null)" = "$inputs_hash" ]; then
  say "$tag is up to date"
  exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
ctx=$work/context
mkdir -p "$ctx/lang/bin" "$ctx/lang/lib/node_modules" "$ctx/runtime/node_modules"
cp "$src"/Dockerfile "$src"/lambda-entrypoint.sh "$ctx/"
cp "$src"/bootstrap "$ctx/runtime/bootstrap"
cp "$node" "$ctx/lang/bin/node"
cp -r "$npm_dir" "$ctx/lang/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$ctx/lang/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$ctx/lang/bin/npx"
# What the runtime loads: bin/index.mjs, dist/ (its JavaScript and the
# compiled rapid-client.node) and package.json; not the curl and aws-lambda-cpp
# sources, nor node-gyp and the rest of the build-time dependencies.
ric_ctx=$ctx/runtime/node_modules/aws-lambda-ric
mkdir -p "$ric_ctx"
cp -r "$ric_pkg/package.json" "$ric_pkg/LICENSE" "$ric_pkg/NOTICE" "$ric_pkg/THIRD-PARTY-LICENSES" \
  "$ric_pkg/bin" "$ric_pkg/dist" "$ric_ctx/"
cp "$("$python" -m pytest_lambda_image fetch-rie --arch x86_64)" "$ctx/aws-lambda-rie"
# Lambda runs the function as uid 993: everything must be readable (and the
# programs executable) by other users, whatever the host's umask was.
chmod -R a+rX,go-w "$ctx"
chmod 0755 "$ctx/lang/bin/node" "$ctx/runtime/bootstrap" "$ctx/lambda-entrypoint.sh" "$ctx/aws-lambda-rie"

say "building $tag"
docker build --quiet --label "pytest-lambda-image.inputs=$inputs_hash" \
  --build-arg "ROOTFS_IMAGE=$rootfs_tag" -t "$tag" "$ctx" >/dev/null
say "built $tag"
