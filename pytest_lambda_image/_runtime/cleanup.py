"""Every container the plugin starts is labelled with this process's session,
and removed by it: when its fixture ends, at session end, at interpreter exit
and on SIGTERM. Containers of sessions that died without cleaning up (kill -9)
are removed by the next session on the same host, wherever the engine runs:
the labels name the machine and process that ran pytest, and only that
machine judges whether the process is gone. None of this needs Ryuk."""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import signal
import socket
import threading
import time
import uuid
from typing import Any

import docker
import docker.errors
import requests.exceptions

LABEL = "pytest-lambda-image"
LABEL_SESSION = "pytest-lambda-image.session"
LABEL_PID = "pytest-lambda-image.pid"
LABEL_HOST = "pytest-lambda-image.host"
LABEL_PIDNS = "pytest-lambda-image.pidns"
LABEL_BOOT = "pytest-lambda-image.boot"
SESSION_ID = uuid.uuid4().hex


def _pid_namespace() -> str:
    """Which PID namespace our pids belong to: two CI jobs in containers can
    share a hostname and a Docker daemon but not this."""
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return "unknown"


PID_NAMESPACE = _pid_namespace()


def _boot_id() -> str:
    """Which machine, and which boot of it, our pids belong to: machines that
    share a remote engine can share a hostname and the (initial) PID namespace's
    id, never this."""
    try:
        with open("/proc/sys/kernel/random/boot_id") as source:
            return source.read().strip() or "unknown"
    except OSError:
        return "unknown"


BOOT_ID = _boot_id()

_live: dict[str, docker.DockerClient] = {}  # container id -> the client that made it
_lock = threading.RLock()
_installed = False


def container_labels(extra: dict[str, str] | None = None) -> dict[str, str]:
    return {
        **(extra or {}),
        LABEL: "true",
        LABEL_SESSION: SESSION_ID,
        LABEL_PID: str(os.getpid()),
        LABEL_HOST: socket.gethostname(),
        LABEL_PIDNS: PID_NAMESPACE,
        LABEL_BOOT: BOOT_ID,
    }


def track(container_id: str, client: docker.DockerClient) -> None:
    install_exit_handlers()
    with _lock:
        _live[container_id] = client


def untrack(container_id: str) -> None:
    with _lock:
        _live.pop(container_id, None)


def remove_container(client: docker.DockerClient, container_id: str) -> None:
    """Kill and remove, ignoring a container that is already gone."""
    with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError, requests.exceptions.RequestException):
        client.api.remove_container(container_id, force=True, v=True)
    untrack(container_id)


def remove_tracked() -> None:
    flush(timeout=30)
    with _lock:
        items = list(_live.items())
    for container_id, client in items:
        remove_container(client, container_id)


# -- removal off the caller's clock ------------------------------------------------
# A container takes ~0.3 s to kill and remove: a fixture hands it to this
# thread and its test ends at once. It stays tracked until removed, so the
# session's end (remove_session), atexit and the next session's reaping
# still cover it.
_queue: queue.Queue[tuple[docker.DockerClient, str] | None] = queue.Queue()
_worker: threading.Thread | None = None


def remove_later(client: docker.DockerClient, container_id: str) -> None:
    """Remove the container in the background (see `flush`)."""
    global _worker
    with _lock:
        if _worker is None or not _worker.is_alive():
            _worker = threading.Thread(target=_remove_queued, name="pytest-lambda-remover", daemon=True)
            _worker.start()
    _queue.put((client, container_id))


def _remove_queued() -> None:
    while True:
        item = _queue.get()
        try:
            if item is not None:
                remove_container(*item)
        finally:
            _queue.task_done()


def flush(timeout: float | None = None) -> bool:
    """Wait until every background removal is done (True) or `timeout`
    passes (False). Call it before removing an image whose containers a
    fixture just stopped: Docker refuses to remove an image a container
    still uses."""
    if _worker is None:
        return True
    if timeout is None:
        _queue.join()
        return True
    deadline = time.monotonic() + timeout
    while _queue.unfinished_tasks:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def remove_session(client: docker.DockerClient, session_id: str = SESSION_ID) -> int:
    """Remove every container of this session, including any a crash left
    untracked or the background had not reached, then its networks (the AWS
    backend's) and volumes."""
    remove_tracked()
    removed = 0
    with contextlib.suppress(docker.errors.DockerException, requests.exceptions.RequestException):
        for item in client.api.containers(all=True, filters={"label": f"{LABEL_SESSION}={session_id}"}):
            remove_container(client, item["Id"])
            removed += 1
        for network in client.api.networks(filters={"label": f"{LABEL_SESSION}={session_id}"}):
            remove_network(client, network["Id"])
        for volume in _volumes(client, {"label": f"{LABEL_SESSION}={session_id}"}):
            remove_volume(client, volume["Name"])
    return removed


def _volumes(client: docker.DockerClient, filters: dict[str, Any]) -> list[dict[str, Any]]:
    """Volumes the plugin made (a function's /tmp), normally removed with
    their container; these are the ones a container removed without its
    volumes left."""
    return list(client.api.volumes(filters=filters).get("Volumes") or [])


def remove_volume(client: docker.DockerClient, name: str) -> None:
    """Remove, ignoring a volume that is gone or still in use."""
    with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError, requests.exceptions.RequestException):
        client.api.remove_volume(name)


def remove_network(client: docker.DockerClient, network_id: str) -> None:
    with contextlib.suppress(docker.errors.NotFound, docker.errors.APIError, requests.exceptions.RequestException):
        client.api.remove_network(network_id)


def reap_stale(client: docker.DockerClient) -> int:
    """Remove containers, then networks and volumes, left by dead pytest processes of
    this machine (same hostname, PID namespace and boot, process gone; a
    remote engine's other users' things are left alone)."""
    removed = 0
    filters = {"label": [f"{LABEL}=true", f"{LABEL_HOST}={socket.gethostname()}"]}
    with contextlib.suppress(docker.errors.DockerException, requests.exceptions.RequestException):
        for item in client.api.containers(all=True, filters=filters):
            if _is_stale(item.get("Labels") or {}, stopped=item.get("State") != "running"):
                remove_container(client, item["Id"])
                removed += 1
        for network in client.api.networks(filters=filters):
            if _is_stale(network.get("Labels") or {}):
                remove_network(client, network["Id"])
        for volume in _volumes(client, filters):
            if _is_stale(volume.get("Labels") or {}):
                remove_volume(client, volume["Name"])
    return removed


def _is_stale(labels: dict[str, str], stopped: bool = False) -> bool:
    if labels.get(LABEL_SESSION) == SESSION_ID or labels.get(LABEL_PIDNS) != PID_NAMESPACE:
        return False
    boot = labels.get(LABEL_BOOT)  # absent on containers of versions before it
    if boot is not None and boot != BOOT_ID:
        # Another machine of the same name, or this one before a reboot: our pids
        # say nothing about it. A reboot stopped its containers; another machine's
        # running ones are its own to remove.
        return stopped
    try:
        pid = int(labels.get(LABEL_PID, ""))
    except ValueError:
        return False
    return not pid_alive(pid)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (in our PID namespace)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError, ValueError):
        return True  # not ours to judge (or not a real pid): leave its things alone
    return True


def install_exit_handlers() -> None:
    """Remove tracked containers at interpreter exit (normal end, Ctrl-C)."""
    global _installed
    with _lock:
        if _installed:
            return
        _installed = True
    atexit.register(remove_tracked)


def sigterm_as_interrupt() -> None:
    """Make SIGTERM (a CI job cancelled) unwind like Ctrl-C, so pytest's own
    teardown and session-end cleanup run; without it the interpreter dies at
    once. Only replaces the default action, and only from the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return
    with contextlib.suppress(ValueError, OSError):
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _raise_interrupt)


def _raise_interrupt(signum: int, frame: Any) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # a second SIGTERM kills at once
    raise KeyboardInterrupt(f"signal {signum}")


flush_removals = flush  # the public name (pytest_lambda_image.flush_removals)
