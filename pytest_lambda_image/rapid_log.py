"""What the runtime did in each invoke, read live from the RIE's debug log.

The RIE's HTTP answer does not say whether the runtime POSTed the payload to
`/runtime/invocation/<id>/response` or to `.../error` (it drops the headers
Lambda would turn into `X-Amz-Function-Error`), so the body's shape was all
there was. Run with `--log-level debug`, the RIE logs every request: the
invoke it received (with its headers), `INVOKE START(requestId: <id>)`, and
each runtime API call. Each invoke the plugin sends carries a numbered
`X-Pytest-Lambda-Invoke` header; the watcher follows the container's stderr
(the RIE's stream) and records one verdict per number: the first of
response, error, timeout or crash. The RIE logs the runtime's call before it
answers the invoke, so the verdict is in the pipe by the time the answer is.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

INVOKE_HEADER = "X-Pytest-Lambda-Invoke"
RIE_LOG_FLAGS = ("--log-level", "debug")
RESPONSE, ERROR, TIMEOUT, CRASH, INIT_ERROR = "response", "error", "timeout", "crash", "init_error"

_MARKER = re.compile(rb"invoke: -> POST \S+ map\[.*?\bX-Pytest-Lambda-Invoke:\[(\d+)\]")
_INVOKE_START = re.compile(rb"\(rapid\) INVOKE START\(requestId: ([0-9a-fA-F-]+)\)")
_RUNTIME_POST = re.compile(rb"API request - POST /2018-06-01/runtime/invocation/([^/\s]+)/(response|error)\b")
_INIT_ERROR_POST = re.compile(rb"API request - POST /2018-06-01/runtime/init/error\b")
_ERROR_TYPE = re.compile(rb"Lambda-Runtime-Function-Error-Type:\[([^\]]*)\]")
_TIMEOUT = re.compile(rb"\(rapid\) Invoke\(\) timeout")
_CRASH = re.compile(rb"\(rapid\) Invoke failed InvokeID=([0-9a-fA-F-]*) error=(.*)$")


@dataclass(frozen=True)
class Verdict:
    """How the runtime ended one invoke, as the RIE saw it."""

    kind: str  # RESPONSE, ERROR, TIMEOUT, CRASH or INIT_ERROR
    request_id: str | None = None
    error_type: str | None = None  # the runtime's Lambda-Runtime-Function-Error-Type header
    detail: str | None = None  # a crash's reason


class RapidParser:
    """Reads the RIE's stderr lines into verdicts by invoke number. Pure: the
    watcher thread feeds it; unit tests feed it recorded logs."""

    def __init__(self) -> None:
        self.verdicts: dict[int, Verdict] = {}
        self.request_ids: dict[int, str] = {}
        self._current: int | None = None  # the invoke the RIE is working on
        self._by_request_id: dict[str, int] = {}

    def feed(self, line: bytes) -> int | None:
        """Take one line; return the invoke number whose verdict it settled."""
        if b"(rapid)" not in line:
            return None
        match = _MARKER.search(line)
        if match:
            self._current = int(match[1])
            return None
        if b"invoke: -> POST" in line:
            self._current = None  # an invoke someone sent straight to the RIE
            return None
        number = self._current
        if number is None:
            return None
        match = _INVOKE_START.search(line)
        if match:
            request_id = match[1].decode()
            self.request_ids[number] = request_id
            self._by_request_id[request_id] = number
            return None
        match = _RUNTIME_POST.search(line)
        if match:
            owner = self._by_request_id.get(match[1].decode())
            if owner is None:
                return None
            error_type = _ERROR_TYPE.search(line)
            kind = RESPONSE if match[2] == b"response" else ERROR
            posted_type = error_type[1].decode() if error_type and kind == ERROR else None
            return self._settle(owner, Verdict(kind, match[1].decode(), posted_type))
        if _INIT_ERROR_POST.search(line):
            error_type = _ERROR_TYPE.search(line)
            return self._settle(number, Verdict(INIT_ERROR, None, error_type[1].decode() if error_type else None))
        if _TIMEOUT.search(line):
            return self._settle(number, Verdict(TIMEOUT, self.request_ids.get(number)))
        match = _CRASH.search(line)
        if match:
            return self._settle(number, Verdict(CRASH, self.request_ids.get(number), detail=match[2].decode().strip()))
        return None

    def _settle(self, number: int, verdict: Verdict) -> int | None:
        if number in self.verdicts:
            return None  # the first word stands (a late /response after a timeout changes nothing)
        self.verdicts[number] = verdict
        return number


class RapidWatch:
    """A daemon thread following one container's stderr into a RapidParser."""

    def __init__(self, open_stream: Callable[[], tuple[Iterable[bytes], Callable[[], None]]]) -> None:
        self._open_stream = open_stream
        self.parser = RapidParser()
        self._cond = threading.Condition()
        self._next = 0
        self._closer: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None
        self.alive = False

    def start(self) -> None:
        chunks, self._closer = self._open_stream()
        self.alive = True
        self._thread = threading.Thread(target=self._run, args=(chunks,), name="pytest-lambda-image-rapid", daemon=True)
        self._thread.start()

    def next_number(self) -> int:
        with self._cond:
            self._next += 1
            return self._next

    def verdict(self, number: int, timeout: float) -> Verdict | None:
        """The verdict for invoke `number`, waiting up to `timeout` s for its line."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while number not in self.parser.verdicts:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.alive:
                    return None
                self._cond.wait(remaining)
            return self.parser.verdicts[number]

    def request_id(self, number: int) -> str | None:
        with self._cond:
            return self.parser.request_ids.get(number)

    def close(self) -> None:
        closer, self._closer = self._closer, None
        if closer is not None:
            try:
                closer()
            except Exception:  # noqa: BLE001 - the stream may already be gone
                pass

    def _run(self, chunks: Iterable[bytes]) -> None:
        try:
            for line in split_lines(chunks):
                if b"(rapid)" not in line:
                    continue
                with self._cond:
                    if self.parser.feed(line) is not None:
                        self._cond.notify_all()
        except Exception:  # noqa: BLE001 - the container went away or the stream was closed
            pass
        finally:
            with self._cond:
                self.alive = False
                self._cond.notify_all()


def split_lines(chunks: Iterable[bytes]) -> Iterator[bytes]:
    pending = b""
    for chunk in chunks:
        if not chunk:
            continue
        pending += chunk
        if b"\n" not in pending:
            continue
        *lines, pending = pending.split(b"\n")
        yield from lines
    if pending:
        yield pending


def attach_stderr(client: Any, container_id: str) -> tuple[Iterable[bytes], Callable[[], None]]:
    """The container's stderr from now on, as raw chunks, with no read timeout
    (an idle function writes nothing for as long as a test likes)."""
    from docker.utils.socket import frames_iter

    api = client.api
    response = api._post(
        api._url("/containers/{0}/attach", container_id),
        headers={"Connection": "Upgrade", "Upgrade": "tcp"},
        params={"stdout": 0, "stderr": 1, "stream": 1, "logs": 0},
        stream=True,
    )
    api._raise_for_status(response)
    sock = api._get_raw_response_socket(response)
    api._disable_socket_timeout(sock)

    def close() -> None:
        try:
            shutdown = getattr(sock, "shutdown", None)
            if shutdown is not None:
                import socket as _socket

                shutdown(_socket.SHUT_RDWR)
        finally:
            response.close()

    return (data for _, data in frames_iter(sock, tty=False)), close
