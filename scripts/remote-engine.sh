#!/usr/bin/env bash
# A second Docker engine on its own address, standing in for a remote one
# (a CI runner's docker:dind, a build host): dockerd in a network namespace,
# reached from here over tcp:// through a veth pair. Idempotent.
#
#   scripts/remote-engine.sh start   prints the DOCKER_HOST to use
#   scripts/remote-engine.sh stop    stops it and removes its namespace and data
#   scripts/remote-engine.sh cut     loses it: dockerd killed, its address gone (then stop)
#
# Needs root (ip netns, nsenter), as scripts/setup.sh does.
set -euo pipefail
NS=${PYTEST_LAMBDA_REMOTE_NS:-pli-remote}
HOST_IP=10.213.0.1
ENGINE_IP=10.213.0.2
BRIDGE=10.214.0.1/24  # its containers' network, apart from the local engine's
ROOT=${PYTEST_LAMBDA_REMOTE_ROOT:-/var/tmp/pytest-lambda-remote-engine}
URL="tcp://$ENGINE_IP:2375"

answers() { docker -H "$URL" version >/dev/null 2>&1; }

start() {
  if answers; then echo "$URL"; return; fi
  # Traffic for these addresses never leaves this machine, even after the veth is gone
  # (else it would follow the default route out): the test hosts are ours alone.
  ip route replace unreachable 10.213.0.0/16 metric 4000
  ip netns add "$NS" 2>/dev/null || true
  if ! ip link show veth-pli0 >/dev/null 2>&1; then
    ip link add veth-pli0 type veth peer name veth-pli1
    ip link set veth-pli1 netns "$NS"
    ip addr add "$HOST_IP/24" dev veth-pli0
    ip link set veth-pli0 up
    ip netns exec "$NS" ip addr add "$ENGINE_IP/24" dev veth-pli1
    ip netns exec "$NS" ip link set veth-pli1 up
    ip netns exec "$NS" ip link set lo up
  fi
  mkdir -p "$ROOT/data" "$ROOT/exec"
  # nsenter, not `ip netns exec`: that remounts /sys and hides the cgroups dockerd needs.
  nsenter --net="/run/netns/$NS" dockerd --host "$URL" --data-root "$ROOT/data" --exec-root "$ROOT/exec" \
    --pidfile "$ROOT/dockerd.pid" --bip "$BRIDGE" >"$ROOT/dockerd.log" 2>&1 &
  for _ in $(seq 1 120); do
    if answers; then echo "$URL"; return; fi
    sleep 0.5
  done
  echo "remote-engine: dockerd did not answer at $URL; see $ROOT/dockerd.log" >&2
  tail -n 20 "$ROOT/dockerd.log" >&2 || true
  exit 1
}

stop() {
  if [ -f "$ROOT/dockerd.pid" ]; then
    pid=$(cat "$ROOT/dockerd.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  # What a killed dockerd leaves running in the namespace (containerd, shims, containers)
  ip netns pids "$NS" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  ip link del veth-pli0 2>/dev/null || true
  ip netns del "$NS" 2>/dev/null || true
  grep -o " $ROOT[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
  rm -rf "$ROOT"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  # The engine lost as a crashed or unplugged host would be: dockerd killed, its address gone.
  cut)
    kill -9 "$(cat "$ROOT/dockerd.pid")" 2>/dev/null || true
    ip netns exec "$NS" ip link set veth-pli1 down 2>/dev/null || true  # packets to it now go unanswered
    ;;
  *) echo "usage: $0 start|stop|cut" >&2; exit 2 ;;
esac
