"""CPU in proportion to memory, as Lambda gives it, but not while the
function initialises: Lambda gives init more CPU than the invokes that follow
(its "init burst"), so a cold start throttled to a 128 MB share would take ten
times longer here than there.

The container starts with the engine's whole CPU; the RIE's log says when an
init starts and when the first invoke after it does (rapid_log.py follows it),
and this turns the container's CFS quota up and down at those moments. Each
change is one `docker update` (~20 ms) run off the log-reading thread, so the
first ~20-40 ms of the invoke after an init still run at full speed.
"""

from __future__ import annotations

import contextlib
import queue
import threading
from typing import Any

import docker.errors
import requests.exceptions

from .rapid_log import PHASE_INIT as INIT
from .rapid_log import PHASE_INVOKE as INVOKE

PERIOD_US = 100_000  # the CFS period Docker uses for --cpus
MIN_QUOTA_US = 1_000  # the kernel refuses less


def quota_us(nano_cpus: int) -> int:
    return max(MIN_QUOTA_US, nano_cpus * PERIOD_US // 1_000_000_000)


class CpuShare:
    """Applies the invoke's share (`invoke_nano`) or init's (`init_nano`) to one
    container, as the phase changes; the container was created at init's."""

    def __init__(self, client: Any, container_id: str, invoke_nano: int, init_nano: int) -> None:
        self._client = client
        self._container_id = container_id
        self._quotas = {INVOKE: quota_us(invoke_nano), INIT: quota_us(init_nano)}
        self._phase = INIT
        self._changes: queue.Queue[int | None] = queue.Queue()
        self._worker = threading.Thread(target=self._apply, name="pytest-lambda-image-cpu", daemon=True)
        self._worker.start()

    @property
    def invoke_quota_us(self) -> int:
        return self._quotas[INVOKE]

    def phase(self, name: str) -> None:
        """The RIE entered `name` (INIT or INVOKE): called from the log reader."""
        if name == self._phase or name not in self._quotas:
            return
        self._phase = name
        self._changes.put(self._quotas[name])

    def close(self) -> None:
        self._changes.put(None)

    def _apply(self) -> None:
        while True:
            quota = self._changes.get()
            if quota is None:
                return
            # A container removed under us (or an engine gone) ends nothing here:
            # the function's own calls report that.
            with contextlib.suppress(docker.errors.DockerException, requests.exceptions.RequestException):
                self._client.api.update_container(self._container_id, cpu_period=PERIOD_US, cpu_quota=quota)
