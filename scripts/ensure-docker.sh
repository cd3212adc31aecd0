#!/usr/bin/env bash
# Make sure a Docker engine answers. On a bare Debian machine where we are root,
# install Debian's docker.io and start dockerd in the background; anywhere else,
# say what to do instead of guessing.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi
if [ -n "${DOCKER_HOST:-}" ]; then
  echo "ensure-docker: no Docker daemon answers at DOCKER_HOST=$DOCKER_HOST; start it or unset DOCKER_HOST" >&2
  exit 1
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-docker: no Docker daemon answers at unix:///var/run/docker.sock; start Docker (or set DOCKER_HOST) and rerun" >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "ensure-docker: installing docker.io from Debian" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

log=/var/log/pytest-lambda-image-dockerd.log
echo "ensure-docker: starting dockerd (log: $log)" >&2
# setsid: dockerd must outlive this script and the shell that ran it.
setsid dockerd >"$log" 2>&1 < /dev/null &
for _ in $(seq 1 120); do
  if docker info >/dev/null 2>&1; then
    exit 0
  fi
  sleep 0.5
done
echo "ensure-docker: dockerd did not come up within 60 s; last lines of $log:" >&2
tail -n 20 "$log" >&2
exit 1
