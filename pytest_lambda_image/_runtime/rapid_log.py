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

INVOKE_HEADER = "X-Pytest-Lambda-Invoke"
KEEP_VERDICTS = 10_000  # per container; an Invocation read later than that falls back to the body's shape
RIE_LOG_FLAGS = ("--log-level", "debug")
RESPONSE, ERROR, TIMEOUT, CRASH, INIT_ERROR = "response", "error", "timeout", "crash", "init_error"
PHASE_INIT, PHASE_INVOKE = "init", "invoke"  # what RapidWatch's on_phase hears
_PHASES = ((b"(rapid) INIT START", PHASE_INIT), (b"(rapid) INVOKE START", PHASE_INVOKE))

_MARKER = re.compile(rb"invoke: -> POST \S+ map\[.*?\bX-Pytest-Lambda-Invoke:\[(\d+)\]")
_INVOKE_START = re.compile(rb"\(rapid\) INVOKE START\(requestId: ([0-9a-fA-F-]+)\)")
_RUNTIME_POST = re.compile(rb"API request - POST /2018-06-01/runtime/invocation/([^/\s]+)/(response|error)\b")
_INIT_ERROR_POST = re.compile(rb"API request - POST /2018-06-01/runtime/init/error\b")
_ERROR_TYPE = re.compile(rb"Lambda-Runtime-Function-Error-Type:\[([^\]]*)\]")
_TIMEOUT = re.compile(rb"\(rapid\) Invoke\(\) timeout")
_TIMED_OUT = re.compile(rb"Task timed out after [0-9.]+ seconds")  # the trace relay's words, when it kept the timeout
# Both orders occur: "Invoke failed InvokeID=<id> error=<why>" and "Invoke failed error=<why> InvokeID=<id>".
_FAILED = re.compile(rb"\(rapid\) (?:Invoke|Init) failed (?:InvokeID=\S* )?error=(.*?)(?: InvokeID=\S*)?\s*$")
_DONE_FAILED = re.compile(rb"\(rapid\) Invoke DONE failed: (\S+)")
_SENDING_ERROR = re.compile(rb"\(rapid\) Sending Error Response: (\S+)")
_FIRST_FATAL = re.compile(rb"\(rapid\) First fatal error stored in appctx: (\S+)")
_INIT_FAILED = re.compile(rb"\(rapid\) INIT RTDONE\(status: error\)")


@dataclass(frozen=True)
class Verdict:
    """How the runtime ended one invoke, as the RIE saw it."""

    kind: str  # RESPONSE, ERROR, TIMEOUT, CRASH or INIT_ERROR
    request_id: str | None = None
    # The runtime's Lambda-Runtime-Function-Error-Type header, or for a crash
    # the RIE's own type (Runtime.ExitError, Runtime.InvalidEntrypoint, ...).
    error_type: str | None = None
    detail: str | None = None  # a crash's reason, as the RIE words it


class RapidParser:
    """Reads the RIE's stderr lines into verdicts by invoke number. Pure: the
    watcher thread feeds it; unit tests feed it recorded logs."""

    def __init__(self) -> None:
        self.verdicts: dict[int, Verdict] = {}
        self.request_ids: dict[int, str] = {}
        self._current: int | None = None  # the invoke the RIE is working on
        self._by_request_id: dict[str, int] = {}
        self._failure: dict[int, str] = {}  # why the RIE says an invoke (or its init) failed
        self._init_failed: set[int] = set()
        self._fatal: dict[int, str] = {}  # the first fatal error type: what Lambda reports

    def feed(self, line: bytes) -> int | None:
        """Take one line; return the invoke number whose verdict it settled."""
        if b"(rapid)" not in line:
            return None
        if b"invoke: -> POST" in line:
            match = _MARKER.search(line)
            # None: an invoke someone sent straight to the RIE, not ours to judge
            self._current = int(match[1]) if match else None
            return None
        number = self._current
        if number is None:
            return None
        match = _SENDING_ERROR.search(line)
        if match:
            return self._refused(number, match[1])
        if b"[DEBUG]" in line and b"API request - POST" not in line and b"Invoke() timeout" not in line:
            return None  # most of the debug chatter: nothing that settles an invoke
        match = _INVOKE_START.search(line)
        if match:
            request_id = match[1].decode("utf-8", "replace")
            self.request_ids[number] = request_id
            self._by_request_id[request_id] = number
            return None
        match = _RUNTIME_POST.search(line)
        if match:
            owner = self._by_request_id.get(match[1].decode("utf-8", "replace"))
            if owner is None:
                return None
            error_type = _ERROR_TYPE.search(line)
            kind = RESPONSE if match[2] == b"response" else ERROR
            posted_type = error_type[1].decode("utf-8", "replace") if error_type and kind == ERROR else None
            return self._settle(owner, Verdict(kind, match[1].decode("utf-8", "replace"), posted_type))
        if _INIT_ERROR_POST.search(line):
            error_type = _ERROR_TYPE.search(line)
            posted_type = error_type[1].decode("utf-8", "replace") if error_type else None
            return self._settle(number, Verdict(INIT_ERROR, None, posted_type))
        if _TIMEOUT.search(line):
            said = _TIMED_OUT.search(line)
            detail = said[0].decode() if said else None
            return self._settle(number, Verdict(TIMEOUT, self.request_ids.get(number), None, detail))
        return self._failure_line(number, line)

    def _refused(self, number: int, error_type: bytes) -> int | None:
        """The RIE refused what the runtime answered (Function.ResponseSizeTooLarge):
        an error, even though the runtime POSTed to /response."""
        settled = self.verdicts.get(number)
        if settled is not None and settled.kind == RESPONSE and error_type.startswith(b"Function."):
            self.verdicts[number] = Verdict(ERROR, settled.request_id, error_type.decode("utf-8", "replace"))
            return number
        return None

    def _failure_line(self, number: int, line: bytes) -> int | None:
        """The RIE's own account of a failed invoke, over several lines: the
        first fatal error type, whether init failed, its reason; `Invoke DONE
        failed` then settles a crash (or an init error) with what they said."""
        match = _FIRST_FATAL.search(line)
        if match:
            self._fatal.setdefault(number, match[1].decode("utf-8", "replace"))
            return None
        if _INIT_FAILED.search(line):
            self._init_failed.add(number)
            return None
        match = _FAILED.search(line)
        if match:
            self._failure.setdefault(number, match[1].decode("utf-8", "replace").strip())
            return None
        done = _DONE_FAILED.search(line)
        if done:
            kind = INIT_ERROR if number in self._init_failed else CRASH
            detail = self._failure.get(number)
            fatal = self._fatal.get(number) or done[1].decode("utf-8", "replace")
            return self._settle(number, Verdict(kind, self.request_ids.get(number), fatal, detail))
        return None

    def _settle(self, number: int, verdict: Verdict) -> int | None:
        if number in self.verdicts:
            return None  # the first word stands (a late /response after a timeout changes nothing)
        self.verdicts[number] = verdict
        self._forget_before(number - KEEP_VERDICTS)
        return number

    def _forget_before(self, oldest: int) -> None:
        """A long-lived container must not grow a table per invoke forever."""
        if oldest <= 0 or len(self.verdicts) <= KEEP_VERDICTS:
            return
        for number in [n for n in self.verdicts if n < oldest]:
            del self.verdicts[number]
            request_id = self.request_ids.pop(number, None)
            self._by_request_id.pop(request_id or "", None)
            self._failure.pop(number, None)
            self._fatal.pop(number, None)
            self._init_failed.discard(number)


class RapidWatch:
    """A daemon thread following one container's stderr into a RapidParser."""

    def __init__(
        self,
        open_stream: Callable[[], tuple[Iterable[bytes], Callable[[], None]]],
        on_phase: Callable[[str], None] | None = None,
    ) -> None:
        self._open_stream = open_stream
        self._on_phase = on_phase  # told PHASE_INIT / PHASE_INVOKE as the RIE starts one (cpu.py)
        self.parser = RapidParser()
        self._cond = threading.Condition()
        self._next = 0
        self._closer: Callable[[], None] | None = None
        self._thread: threading.Thread | None = None
        self.alive = False
        self.missed = False  # a verdict did not come in time: stop waiting for them

    def start(self) -> None:
        chunks, self._closer = self._open_stream()
        self.alive = True
        self._thread = threading.Thread(target=self._run, args=(chunks,), name="pytest-lambda-image-rapid", daemon=True)
        self._thread.start()

    def next_number(self) -> int:
        with self._cond:
            self._next += 1
            return self._next

    def verdict(self, number: int, timeout: float, *, expected: bool = True) -> Verdict | None:
        """The verdict for invoke `number`, waiting up to `timeout` s for its
        line. None when it did not come: the caller falls back to the body's
        shape. After one miss of an `expected` verdict the watch stops waiting
        (an RIE that logs differently would otherwise cost every invoke the
        whole timeout)."""
        found = self.parser.verdicts.get(number)  # usually in already: the line precedes the answer
        if found is not None:
            return found
        deadline = time.monotonic() + timeout
        with self._cond:
            while number not in self.parser.verdicts:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not self.alive or self.missed:
                    self.missed = self.missed or expected
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
        feed = self.parser.feed
        try:
            for line in split_lines(chunks):
                if b"(rapid)" not in line:
                    continue
                if self._on_phase is not None:
                    self._tell_phase(line)
                with self._cond:
                    try:
                        settled = feed(line)
                    except Exception:  # noqa: BLE001 - one odd line must not stop the reading
                        continue
                    if settled is not None:
                        self._cond.notify_all()
        except Exception:  # noqa: BLE001 - the container went away or the stream was closed
            pass
        finally:
            with self._cond:
                self.alive = False
                self._cond.notify_all()
            # A stream nobody reads would stall the container's stderr (Docker
            # buffers about 1 MB for an attached client): let it go.
            self.close()

    def _tell_phase(self, line: bytes) -> None:
        assert self._on_phase is not None
        for marker, phase in _PHASES:
            if marker in line:
                try:
                    self._on_phase(phase)
                except Exception:  # noqa: BLE001 - the listener's trouble must not stop the reading
                    pass
                return


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


def payloads(recv: Callable[[int], bytes]) -> Iterator[bytes]:
    """Docker's multiplexed attach stream (8-byte header: stream, 0, 0, 0,
    big-endian size) -> payloads. One large recv per wakeup: docker's own
    reader polls and reads each frame's header and body separately, which
    costs the warm invoke measurably at the RIE's debug level."""
    buffer = bytearray()
    while True:
        data = recv(65536)
        if not data:
            return
        buffer += data
        start = 0
        end = len(buffer)
        out = []
        while end - start >= 8:
            if buffer[start] > 2 or buffer[start + 1 : start + 4] != b"\0\0\0":
                raise ValueError("not a multiplexed Docker stream")  # out of step: give up the watch
            size = int.from_bytes(buffer[start + 4 : start + 8], "big")
            if end - start - 8 < size:
                break
            out.append(bytes(buffer[start + 8 : start + 8 + size]))
            start += 8 + size
        del buffer[:start]
        if out:
            yield b"".join(out)
