"""The container's log stream, cut into invocations.

The RIE writes two streams that docker merges by arrival time: stdout carries
`START RequestId: <id>`, the runtime's own output, `END` and `REPORT
RequestId: <id>`; stderr carries the RIE's `(rapid)` lines, among them
`INIT START(...)` and `INVOKE START(requestId: <id>)`. Each stream is in
order, but one can lag the other by several invokes' worth of lines, so each
line belongs to the invoke most recently started *in its own stream*.
Invocations on one container are serialized, so the n-th new request id in
the log belongs to the n-th invoke sent: a `Ticket` is queued before each
invoke and reading the log hands it the next request id found.
"""

from __future__ import annotations

import calendar
import collections
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from .invocation import InvocationLogs, Report

_START = re.compile(r"^START RequestId: (?P<id>[0-9a-fA-F-]+)")
_INVOKE_START = re.compile(r"\(rapid\) INVOKE START\(requestId: (?P<id>[0-9a-fA-F-]+)\)")
_END = re.compile(r"^END RequestId: (?P<id>[0-9a-fA-F-]+)")
_REPORT = re.compile(r"^REPORT RequestId: (?P<id>[0-9a-fA-F-]+)(?P<rest>.*)$")
_INIT_REPORT = re.compile(r"\(rapid\) INIT REPORT\(durationMs: (?P<ms>[0-9.]+)\)")
_INIT_START = re.compile(r"\(rapid\) INIT START\(")
_CRASH_END = re.compile(r"\(rapid\) Invoke DONE failed")
_RESET = re.compile(r"\(rapid\) Reset initiated")
_RIE_DEBUG = "[DEBUG] (rapid)"
CRASH_GRACE_S = 0.05
STDERR_LAG_S = 0.5  # how long a finished invoke's logs wait for the RIE's stream to catch up
OVERLAP_S = 0.25
_TIMESTAMP = re.compile(r"^(?P<base>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(?P<frac>\d+))?(?P<tz>Z|z|[+-]\d\d:\d\d)$")
_FIELD = re.compile(r"(?P<name>[A-Za-z ]+): (?P<value>[0-9.]+) (?:ms|MB)")


def parse_report(line: str, init_duration_ms: float | None = None) -> Report | None:
    """Parse a `REPORT RequestId:` line. The RIE's own `Init Duration` is not
    Lambda's (it measures nothing useful), so the caller supplies the figure
    from the `INIT REPORT` line, if the invocation ran init."""
    match = _REPORT.match(line.strip())
    if not match:
        return None
    fields = {m["name"].strip(): float(m["value"]) for m in _FIELD.finditer(match["rest"])}
    try:
        return Report(
            duration_ms=fields["Duration"],
            billed_duration_ms=int(fields["Billed Duration"]),
            memory_size_mb=int(fields["Memory Size"]),
            max_memory_used_mb=int(fields["Max Memory Used"]),
            init_duration_ms=init_duration_ms,
        )
    except KeyError:
        return None


def request_id_of_start(line: str) -> str | None:
    """The request id if the line marks the start of an invoke."""
    match = _START.match(line) or _INVOKE_START.search(line)
    return match["id"] if match else None


@dataclass(eq=False)
class Ticket:
    """One invoke's place in the log stream."""

    number: int = 0
    request_id: str | None = None
    start: int | None = None  # index of its first line
    last: int | None = None  # index of its REPORT (or crash) line
    report: Report | None = None
    init_duration_ms: float | None = None
    done: bool = False  # nothing more to wait for
    crashed: bool = False
    cancelled: bool = False
    stdout_started: bool = False  # its START RequestId line is in
    rapid_started: bool = False  # its (rapid) INVOKE START line is in
    settled: bool = False  # its init is over: the RIE sent its INVOKE START, or reset after a failed init
    next: Ticket | None = None  # the invoke whose stdout START followed this one's
    indices: list[int] = field(default_factory=list)  # the lines that are this invoke's


class LogCollector:
    """The container's log lines, fetched from the engine only when someone
    asks (an invocation's logs, a failed test's report). Following the stream
    live would cost every invoke: dockerd pushing lines and a reader thread
    competing for the GIL measured at ~0.7 ms per warm invoke."""

    def __init__(self, fetch: Callable[[float | None], bytes] | None = None) -> None:
        self._fetch = fetch  # since (unix seconds, inclusive) -> lines with RFC 3339 timestamps
        self.lines: list[str] = []
        self._lock = threading.RLock()
        self._tickets: list[Ticket] = []  # every ticket issued, by number
        self._pending: deque[Ticket] = deque()  # issued, no request id yet
        # By request id, oldest first: a retried async event keeps its id (as on Lambda).
        self._by_id: dict[str, list[Ticket]] = {}
        self._stdout_owner: Ticket | None = None  # the invoke whose START was the last on stdout
        self._rapid_owner: Ticket | None = None  # the invoke the RIE's stderr lines are about now
        self._newest: float | None = None  # newest timestamp seen (unix seconds)
        self._recent: collections.Counter[tuple[float, str]] = collections.Counter()  # lines within the overlap
        self._rapid_starts = False  # the RIE writes INVOKE START lines (every RIE this plugin knows does)
        self.closed = False

    # -- feeding ---------------------------------------------------------------
    def refresh(self) -> None:
        """Fetch what the container wrote since the last fetch."""
        if self._fetch is None or self.closed:
            return
        with self._lock:
            since = None if self._newest is None else self._newest - OVERLAP_S
            try:
                data = self._fetch(since)
            except Exception:  # noqa: BLE001 - a removed container just has no more lines
                return
            self.feed_timestamped(data)

    def feed_timestamped(self, data: bytes) -> None:
        """Add `<RFC 3339 timestamp> <line>` lines not seen before. Each fetch
        overlaps the last by OVERLAP_S on purpose: docker stamps stdout and
        stderr separately, so a line can reach the log after a newer one."""
        with self._lock:
            in_this_fetch: collections.Counter[tuple[float, str]] = collections.Counter()
            for raw in data.split(b"\n"):
                if not raw:
                    continue
                stamp, _, content = raw.partition(b" ")
                ts = parse_timestamp(stamp.decode("ascii", "replace"))
                text = content.decode("utf-8", "replace").rstrip("\r")
                if ts is None:
                    self.add([raw.decode("utf-8", "replace").rstrip("\r")])
                    continue
                key = (ts[0] + ts[1] / 1e9, text)
                in_this_fetch[key] += 1
                if in_this_fetch[key] <= self._recent[key]:
                    continue  # already have it
                self._recent[key] += 1
                self._newest = key[0] if self._newest is None else max(self._newest, key[0])
                self.add([text])
            if self._newest is not None:
                horizon = self._newest - OVERLAP_S
                for key in [k for k in self._recent if k[0] < horizon]:
                    del self._recent[key]

    def add(self, new_lines: list[str]) -> None:
        with self._lock:
            for line in new_lines:
                if _RIE_DEBUG in line:
                    continue  # the RIE runs at debug level for rapid_log.py; users want their own lines
                index = len(self.lines)
                self.lines.append(line)
                owner = self._mark(index, line)
                if owner is not None:
                    owner.indices.append(index)
                    owner.start = index if owner.start is None else owner.start

    def close(self) -> None:
        """The container is gone: no ticket will get more lines."""
        with self._lock:
            self.closed = True
            for ticket in self._tickets:
                ticket.done = True

    def _mark(self, index: int, line: str) -> Ticket | None:
        """Note what `line` says about its invoke; return that invoke."""
        rapid = "(rapid)" in line
        request_id = request_id_of_start(line)
        if request_id is not None:
            ticket = self._owner_of_start(request_id, rapid)
            if ticket is None:
                return None
            if rapid:
                self._rapid_owner = ticket
                ticket.settled = ticket.rapid_started = self._rapid_starts = True
            else:
                previous = self._stdout_owner
                if previous is not None and previous is not ticket:
                    previous.next = ticket
                    previous.done = True  # stdout is in order: it wrote all it will
                self._stdout_owner = ticket
                ticket.stdout_started = True
            return ticket
        if rapid:
            owner = self._rapid_owner
            # An init runs before its invoke's INVOKE START: a new one belongs to
            # the next invoke, unless the current one is still in init (the RIE
            # retries a failed init within the same invoke).
            if _INIT_START.search(line) and (owner is None or owner.settled):
                self._rapid_owner = self._next_for_rapid() or owner
            ticket = self._rapid_owner
            if ticket is not None:
                init = _INIT_REPORT.search(line)
                if init and ticket.init_duration_ms is None:
                    ticket.init_duration_ms = float(init["ms"])
                    if ticket.report is not None and ticket.report.init_duration_ms is None:
                        ticket.report = replace(ticket.report, init_duration_ms=ticket.init_duration_ms)
                elif _RESET.search(line):
                    ticket.settled = True
                elif _CRASH_END.search(line) and ticket.report is None:
                    ticket.last, ticket.done, ticket.crashed = index, True, True
            return ticket
        if line.startswith(("REPORT RequestId: ", "END RequestId: ")):
            match = _REPORT.match(line) or _END.match(line)
            ticket = self._owner_of_end(match["id"]) if match else None
            if ticket is not None and line.startswith("REPORT"):
                ticket.report = parse_report(line, ticket.init_duration_ms)
                ticket.last, ticket.done = index, True
            return ticket or self._stdout_owner
        return self._stdout_owner

    def _next_for_rapid(self) -> Ticket | None:
        first = self._rapid_owner.number + 1 if self._rapid_owner is not None else 0
        return next((t for t in self._tickets[first:] if not t.cancelled), None)

    def _owner_of_start(self, request_id: str, rapid: bool) -> Ticket | None:
        """The invoke a START line (the RIE's or stdout's) begins: the oldest
        with this id that has not had that line yet, else the next waiting one."""
        for ticket in self._by_id.get(request_id, ()):
            if not (ticket.rapid_started if rapid else ticket.stdout_started):
                return ticket
        return self._assign(request_id)

    def _owner_of_end(self, request_id: str) -> Ticket | None:
        """The invoke an END or REPORT line closes: stdout is in order, so the
        one whose stdout START came last when it has this id, else the oldest
        with this id still open."""
        owner = self._stdout_owner
        if owner is not None and owner.request_id == request_id:
            return owner
        tickets = self._by_id.get(request_id, [])
        return next((t for t in tickets if t.report is None), tickets[-1] if tickets else None)

    def _assign(self, request_id: str) -> Ticket | None:
        """A new request id: it belongs to the oldest invoke still waiting for one."""
        if not self._pending:
            return None  # someone else invoked this container directly
        ticket = self._pending.popleft()
        ticket.request_id = request_id
        self._by_id.setdefault(request_id, []).append(ticket)
        return ticket

    # -- reading ---------------------------------------------------------------
    def ticket(self) -> Ticket:
        """Queue a ticket for the invoke about to be sent."""
        with self._lock:
            ticket = Ticket(number=len(self._tickets))
            self._tickets.append(ticket)
            self._pending.append(ticket)
        return ticket

    @property
    def issued(self) -> int:
        """How many invokes were sent so far (a mark for `lines_from`)."""
        return len(self._tickets)

    def cancel(self, ticket: Ticket) -> None:
        """The invoke never reached the RIE: it will write no lines."""
        with self._lock:
            if ticket in self._pending:
                self._pending.remove(ticket)
            ticket.done = ticket.cancelled = True

    def result(self, ticket: Ticket, timeout: float = 2.0) -> InvocationLogs:
        """The ticket's lines, fetching until its last one is in (at most
        `timeout` s). A crashed invoke has no REPORT: the dying runtime's
        output can still trail the RIE's "Invoke DONE failed"."""
        # A crash is marked on stderr; stdout (its START and output) may lag.
        self._wait(lambda: ticket.done and (ticket.stdout_started or ticket.cancelled), timeout)
        if ticket.done and not ticket.settled and not ticket.cancelled and self._rapid_starts:
            # stdout's REPORT is in but the RIE's stream lags behind it: its INIT
            # REPORT (the init duration) and the init's lines come before its
            # INVOKE START for this invoke.
            self._wait(lambda: ticket.settled, STDERR_LAG_S)
        if ticket.crashed and ticket.next is None:
            time.sleep(CRASH_GRACE_S)  # a dying runtime's last output arrives late
            self.refresh()
        with self._lock:
            return InvocationLogs(
                request_id=ticket.request_id,
                lines=tuple(self.lines[i] for i in ticket.indices),
                report=ticket.report,
                complete=ticket.done,
            )

    def lines_from(self, mark: int, timeout: float = 1.0) -> list[str]:
        """Lines from the first invoke numbered `mark` or later to now."""
        self._wait(lambda: not self._pending and all(t.done for t in self._tickets[mark:]), timeout)
        with self._lock:
            starts = [t.start for t in self._tickets[mark:] if t.start is not None]
            return self.lines[min(starts) :] if starts else []

    def _wait(self, ready: Callable[[], bool], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        delay = 0.005
        while True:
            self.refresh()
            with self._lock:
                if ready() or self.closed:
                    return
            if time.monotonic() >= deadline:
                return
            time.sleep(delay)
            delay = min(delay * 2, 0.1)

    def text(self) -> str:
        self.refresh()
        with self._lock:
            return "\n".join(self.lines)


def parse_timestamp(text: str) -> tuple[int, int] | None:
    """RFC 3339 with up to nanoseconds, as docker writes it -> (unix seconds, ns)."""
    match = _TIMESTAMP.match(text)
    if not match:
        return None
    seconds = calendar.timegm(time.strptime(match["base"], "%Y-%m-%dT%H:%M:%S"))
    nanos = int((match["frac"] or "").ljust(9, "0")[:9] or 0)
    offset = 0
    if match["tz"] not in ("Z", "z"):
        sign = 1 if match["tz"][0] == "+" else -1
        hours, minutes = match["tz"][1:].split(":")
        offset = sign * (int(hours) * 3600 + int(minutes) * 60)
    return seconds - offset, nanos
