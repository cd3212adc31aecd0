#!/usr/bin/env bash
# A second Docker engine on its own address, standing in for a remote one
# (a CI runner's docker:dind, a build host): dockerd in a network namespace,
# reached from here over tcp:// through a veth pair, and over ssh:// through an
# sshd in the same namespace. Idempotent.
#
#   scripts/remote-engine.sh start   prints the DOCKER_HOST to use over tcp://
#   scripts/remote-engine.sh ssh     (after start) prints a directory to put first on PATH: its `ssh`
#                                    uses this script's own key, config and known_hosts (never
#                                    ~/.ssh); then DOCKER_HOST=ssh://root@10.213.0.2 reaches the engine
#   scripts/remote-engine.sh stop    stops it and removes its namespace, keys and data
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
SOCKET="$ROOT/docker.sock"  # what `docker system dial-stdio` reaches for an ssh:// client
SSH="$ROOT/ssh"

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
  nsenter --net="/run/netns/$NS" dockerd --host "$URL" --host "unix://$SOCKET" --data-root "$ROOT/data" --exec-root "$ROOT/exec" \
    --pidfile "$ROOT/dockerd.pid" --bip "$BRIDGE" >"$ROOT/dockerd.log" 2>&1 &
  wait_for answers 120 0.5 "$URL" "dockerd did not answer at $URL" "$ROOT/dockerd.log"
}

# wait_for CHECK TRIES INTERVAL RESULT WHAT LOG: print RESULT once CHECK passes,
# else say WHAT with the tail of LOG and fail.
wait_for() {
  for _ in $(seq 1 "$2"); do
    if "$1"; then echo "$4"; return; fi
    sleep "$3"
  done
  echo "remote-engine: $5; see $6" >&2
  tail -n 20 "$6" >&2 || true
  exit 1
}

sshd_answers() { "$SSH/bin/ssh" "root@$ENGINE_IP" true >/dev/null 2>&1; }

# sshd on the engine's address, as on a build host: key login as root only. Its
# sessions' `docker` talks to this engine: the namespace shares our filesystem,
# where /var/run/docker.sock is the local engine's.
start_sshd() {
  if ! answers; then echo "remote-engine: not started (run: $0 start)" >&2; exit 1; fi
  if [ -x "$SSH/bin/ssh" ] && sshd_answers; then echo "$SSH/bin"; return; fi
  if [ ! -x /usr/sbin/sshd ] || ! command -v ssh-keygen >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server openssh-client >/dev/null
  fi
  mkdir -p "$SSH/bin" /run/sshd  # /run/sshd: sshd's privilege separation directory
  chmod 700 "$SSH"
  [ -f "$SSH/host_key" ] || ssh-keygen -q -t ed25519 -N '' -C pli-remote-host -f "$SSH/host_key"
  [ -f "$SSH/client_key" ] || ssh-keygen -q -t ed25519 -N '' -C pli-remote-client -f "$SSH/client_key"
  cp "$SSH/client_key.pub" "$SSH/authorized_keys"
  echo "$ENGINE_IP $(cut -d' ' -f1,2 "$SSH/host_key.pub")" >"$SSH/known_hosts"
  printf '%s\n' "ListenAddress $ENGINE_IP" "HostKey $SSH/host_key" "PidFile $SSH/sshd.pid" \
    "AuthorizedKeysFile $SSH/authorized_keys" "AllowUsers root" "PermitRootLogin prohibit-password" \
    "PasswordAuthentication no" "KbdInteractiveAuthentication no" "UsePAM no" "StrictModes no" \
    "SetEnv DOCKER_HOST=unix://$SOCKET" >"$SSH/sshd_config"
  printf '%s\n' "Host $ENGINE_IP" "  IdentityFile $SSH/client_key" "  IdentitiesOnly yes" \
    "  UserKnownHostsFile $SSH/known_hosts" "  StrictHostKeyChecking yes" "  BatchMode yes" \
    "  ConnectTimeout 10" >"$SSH/config"
  printf '#!/bin/sh\nexec /usr/bin/ssh -F %s "$@"\n' "$SSH/config" >"$SSH/bin/ssh"
  chmod 755 "$SSH/bin/ssh"
  if [ -f "$SSH/sshd.pid" ]; then kill "$(cat "$SSH/sshd.pid")" 2>/dev/null || true; fi
  nsenter --net="/run/netns/$NS" /usr/sbin/sshd -f "$SSH/sshd_config" -E "$SSH/sshd.log"
  wait_for sshd_answers 40 0.25 "$SSH/bin" "sshd did not let us in at $ENGINE_IP" "$SSH/sshd.log"
}

stop() {
  if [ -f "$SSH/sshd.pid" ]; then kill "$(cat "$SSH/sshd.pid")" 2>/dev/null || true; fi
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
  ssh) start_sshd ;;
  stop) stop ;;
  # The engine lost as a crashed or unplugged host would be: dockerd killed, its address gone.
  cut)
    kill -9 "$(cat "$ROOT/dockerd.pid")" 2>/dev/null || true
    ip netns exec "$NS" ip link set veth-pli1 down 2>/dev/null || true  # packets to it now go unanswered
    ;;
  *) echo "usage: $0 start|ssh|stop|cut" >&2; exit 2 ;;
esac
