"""The result of one invoke: what happened, the payload, the REPORT figures and
the log lines of that invocation alone."""

from __future__ import annotations

import dataclasses
import enum
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..errors import FunctionError
from .rapid_log import CRASH, ERROR, INIT_ERROR, RESPONSE, TIMEOUT, Verdict

_TIMEOUT_BODY = re.compile(rb"^Task timed out after \d+(?:\.\d+)? seconds$")
_TOO_LARGE = b'{"errorType":"Function.ResponseSizeTooLarge"'
_EXIT_ERROR = b'{"errorType":"Runtime.ExitError"'  # the RIE's own document for a runtime that died
_ERROR_KEYS = frozenset({"errorMessage", "errorType", "stackTrace", "requestId", "cause"})


class Outcome(str, enum.Enum):
    """How an invocation ended, as far as the caller can tell."""

    SUCCESS = "success"
    FUNCTION_ERROR = "function_error"  # the handler raised or returned an error
    TIMEOUT = "timeout"  # ran past the function timeout
    RUNTIME_EXIT = "runtime_exit"  # the runtime process died during the invoke
    INIT_ERROR = "init_error"  # the function could not initialise (import error, crash in init)


@dataclass(frozen=True)
class Report:
    """Figures from the `REPORT RequestId:` line (and the real init duration
    from `(rapid) INIT REPORT`, since the RIE's REPORT prints a bogus one)."""

    duration_ms: float
    billed_duration_ms: int
    memory_size_mb: int
    max_memory_used_mb: int
    init_duration_ms: float | None = None


def classify(
    status_code: int, body: bytes, verdict: Verdict | None = None
) -> tuple[Outcome, dict[str, Any] | None]:
    """Tell the outcome. With a verdict (what the runtime did, from the RIE's
    log) a 200 answer is whatever the runtime said: a POST to /error is a
    function error whatever its document, a POST to /response a success even
    when shaped like an error. Without one (the RIE's log could not be
    followed), the body's shape is all there is. Returns the error document."""
    if verdict is not None and verdict.kind == TIMEOUT and status_code != 200:
        # The trace relay kept the function timeout and stopped the runtime:
        # the RIE answers for a killed runtime, Lambda for a timeout.
        return Outcome.TIMEOUT, timeout_document(body, verdict.request_id, verdict.detail)
    if status_code != 200 and verdict is not None and verdict.kind == ERROR and not body.startswith(_EXIT_ERROR):
        # The runtime posted to /error and then exited (aws-lambda-go after a
        # panic): the RIE answers 502 with the document; Lambda, a function error.
        return Outcome.FUNCTION_ERROR, _posted_error(body, verdict)
    if status_code != 200 and verdict is not None and verdict.kind in (CRASH, INIT_ERROR):
        told = _failed_by_verdict(body, verdict)
        if told is not None:
            return told
    if status_code == 200 and verdict is not None:
        told = _answered_by_verdict(body, verdict)
        if told is not None:
            return told
    if status_code == 200:
        return _answered_by_shape(body)
    return _failed_by_shape(body)


def _failed_by_verdict(body: bytes, verdict: Verdict) -> tuple[Outcome, dict[str, Any] | None] | None:
    """A failed answer to an invoke the RIE saw crash or fail its init, when
    the body cannot tell it; None when the body is an error document."""
    failed = Outcome.INIT_ERROR if verdict.kind == INIT_ERROR else Outcome.RUNTIME_EXIT
    if not body.strip():
        # The RIE answered 502 with nothing (the runtime never ran, or died
        # before reporting): Lambda's answer names the RIE's reason.
        detail = verdict.detail or "Runtime exited without providing a reason"
        prefix = f"RequestId: {verdict.request_id} Error: " if verdict.request_id else ""
        return failed, {"errorType": verdict.error_type or "Runtime.ExitError", "errorMessage": prefix + detail}
    if error_document(body, strict=False) is None:  # e.g. plain text a custom runtime posted to /init/error
        return failed, _posted_error(body, verdict)
    return None


def _answered_by_verdict(body: bytes, verdict: Verdict) -> tuple[Outcome, dict[str, Any] | None] | None:
    """A 200 answer: what the runtime did decides, not the body's shape.
    None for a verdict of a kind this does not know."""
    if verdict.kind == RESPONSE:
        if body.startswith(_TOO_LARGE):
            # The RIE refused the runtime's answer; the reader may not have seen its line yet.
            return Outcome.FUNCTION_ERROR, error_document(body, strict=False)
        return Outcome.SUCCESS, None
    if verdict.kind == ERROR:
        return Outcome.FUNCTION_ERROR, _posted_error(body, verdict)
    if verdict.kind == TIMEOUT:
        return Outcome.TIMEOUT, timeout_document(body, verdict.request_id, verdict.detail)
    if verdict.kind == CRASH:
        return Outcome.RUNTIME_EXIT, {
            "errorType": verdict.error_type or "Runtime.ExitError",
            "errorMessage": verdict.detail or "",
        }
    if verdict.kind == INIT_ERROR:
        return Outcome.INIT_ERROR, _posted_error(body, verdict)
    return None


def _answered_by_shape(body: bytes) -> tuple[Outcome, dict[str, Any] | None]:
    """A 200 answer with no verdict: only Lambda's own error document (its
    keys and nothing else) or the RIE's timeout message is not a success."""
    error = error_document(body)
    if _TIMEOUT_BODY.match(body.strip()):
        return Outcome.TIMEOUT, timeout_document(body, None)
    if error is not None:
        return Outcome.FUNCTION_ERROR, error
    return Outcome.SUCCESS, None


def _failed_by_shape(body: bytes) -> tuple[Outcome, dict[str, Any] | None]:
    # A failed answer is never a function's return value: any error document
    # counts (Node.js's has `trace`, Java's `cause`, a custom runtime its own fields).
    error = error_document(body, strict=False)
    if error is not None:
        error_type = str(error.get("errorType", ""))
        if error_type == "Runtime.ExitError":
            return Outcome.RUNTIME_EXIT, error
        if error_type.startswith("Function."):
            # e.g. Function.ResponseSizeTooLarge: Lambda reports it as a function error
            return Outcome.FUNCTION_ERROR, error
    # 502 with an /init/error document, or with an empty body when the runtime
    # died before it could report anything.
    return Outcome.INIT_ERROR, error


def timeout_document(body: bytes, request_id: str | None, said: str | None = None) -> dict[str, Any]:
    """What Lambda's Invoke API answers for a timeout (200, X-Amz-Function-Error:
    Unhandled): an error document, where the RIE answers its bare text (or,
    when the trace relay stopped the runtime, its answer for a killed one)."""
    if _TIMEOUT_BODY.match(body.strip()):
        message = body.decode("utf-8", "replace").strip()
    else:
        message = said or "Task timed out"
    prefix = f"RequestId: {request_id} Error: " if request_id else ""
    return {"errorType": "Sandbox.Timedout", "errorMessage": prefix + message}


def _posted_error(body: bytes, verdict: Verdict) -> dict[str, Any]:
    """Whatever a runtime POSTed to /error: Python's and Node's documents, Java's
    `cause`, a custom runtime's own fields, or not JSON at all."""
    try:
        doc = json.loads(body)
    except ValueError:
        doc = None
    error = dict(doc) if isinstance(doc, dict) else {"errorMessage": body.decode("utf-8", "replace")}
    if not error.get("errorType"):
        error["errorType"] = verdict.error_type or "Unhandled"
    return error


def _frame_text(frame: Any) -> str:
    """One stack frame as a line: Python's and Node's are text already; Go's
    (aws-lambda-go) are {"path", "line", "label"} objects; any other object as JSON."""
    if isinstance(frame, str):
        return frame
    if isinstance(frame, dict) and "label" in frame and "path" in frame:
        where = f"{frame['path']}:{frame['line']}" if frame.get("line") is not None else str(frame["path"])
        return f"{frame['label']} ({where})"
    if isinstance(frame, (dict, list)):
        return json.dumps(frame, separators=(", ", ": "))
    return str(frame)


def error_document(body: bytes, strict: bool = True) -> dict[str, Any] | None:
    """`body` as an error document (errorType/errorMessage), else None. `strict`:
    nothing but Lambda's error keys, so a success's return value is not taken for one.
    """
    # Cheap test first: warm invokes must not pay for parsing big payloads.
    if b'"errorType"' not in body[:4096] and b'"errorMessage"' not in body[:4096]:
        return None
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if not isinstance(doc, dict) or ("errorType" not in doc and "errorMessage" not in doc):
        return None
    return doc if not strict or set(doc) <= _ERROR_KEYS else None


class Invocation:
    """One invoke's result, in the spirit of `requests.Response`.

    `ok` is true only for success; `raise_for_error()` raises `FunctionError`
    for every other outcome. `logs` and `report` wait briefly for the RIE to
    write the invocation's last log line.
    """

    def __init__(
        self,
        status_code: int,
        payload: bytes,
        *,
        logs_source: Callable[[], InvocationLogs] | None = None,
        function_name: str = "function",
        verdict: Verdict | Callable[[], Verdict | None] | None = None,
        memory_peak: Callable[[], int | None] | None = None,
        out_of_memory: bool = False,
        trace_id: str | None = None,
        memory_size_mb: int | None = None,
        elapsed_ms: float | None = None,
    ) -> None:
        self._status_code = status_code
        self.trace_id = trace_id  # the X-Amzn-Trace-Id the invoke carried
        self._body = payload  # the RIE's answer
        self._payload: bytes | None = None
        # A verdict may come as a callable: the outcome is then settled the first
        # time someone asks, so an invoke whose outcome nobody reads never waits for it.
        self._verdict_source = verdict
        self._out_of_memory = out_of_memory
        self._settled: tuple[Outcome, dict[str, Any] | None, Verdict | None] | None = None
        self._logs_source = logs_source
        self._memory_peak = memory_peak
        self._memory_size_mb = memory_size_mb
        self._elapsed_ms = elapsed_ms  # the round trip, for a REPORT the RIE did not write
        self._report: Report | None = None
        self._logs: InvocationLogs | None = None
        self.function_name = function_name

    def _settle(self) -> tuple[Outcome, dict[str, Any] | None, Verdict | None]:
        if self._settled is None:
            source = self._verdict_source
            verdict = source() if callable(source) else source
            outcome, error = classify(self._status_code, self._body, verdict)
            if self._out_of_memory and outcome in (Outcome.RUNTIME_EXIT, Outcome.INIT_ERROR):
                # Lambda's REPORT says `Error Type: Runtime.OutOfMemory`; the answer
                # itself is the RIE's, as on Lambda ("... signal: killed").
                detail = (error or {}).get("errorMessage") or "Runtime exited with error: signal: killed"
                outcome, error = Outcome.RUNTIME_EXIT, {"errorType": "Runtime.OutOfMemory", "errorMessage": detail}
            self._settled = (outcome, error, verdict)
        return self._settled

    @property
    def status_code(self) -> int:
        """The Invoke API's status: 200 for a function's answer and for its
        errors and timeouts alike (the RIE answers 502 for a runtime it
        stopped); 502 when the runtime died or could not initialise."""
        if self._status_code != 200 and b"signal: killed" in self._body[:512] and self.outcome is Outcome.TIMEOUT:
            return 200
        return self._status_code

    @property
    def outcome(self) -> Outcome:
        return self._settle()[0]

    @property
    def _error(self) -> dict[str, Any] | None:
        return self._settle()[1]

    @property
    def verdict(self) -> Verdict | None:
        """What the runtime did, as the RIE's log told it (None: not known)."""
        return self._settle()[2]

    @property
    def out_of_memory(self) -> bool:
        error = self._error
        return error is not None and error.get("errorType") == "Runtime.OutOfMemory"

    # -- payload ---------------------------------------------------------------
    @property
    def payload(self) -> bytes:
        """The response payload, as Lambda's Invoke API returns it: the
        function's answer, or the error document (for a timeout too, where
        the RIE answers a bare `Task timed out after N seconds`)."""
        if self._payload is None:
            body = self._body
            timed_out = body.startswith(b"Task timed out") or b"signal: killed" in body[:512]
            if len(body) < 512 and timed_out and self.outcome is Outcome.TIMEOUT:
                body = json.dumps(self._error, separators=(",", ":")).encode()
            self._payload = body
        return self._payload

    @property
    def function_error(self) -> str | None:
        """Lambda's X-Amz-Function-Error (the Invoke API's FunctionError):
        "Unhandled" for every outcome but success, as Lambda reports errors
        from current runtimes, timeouts and crashes alike; None on success."""
        return None if self.ok else "Unhandled"

    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.SUCCESS

    def __bool__(self) -> bool:
        """As `requests.Response`: `assert function.invoke(event)` fails unless it succeeded."""
        return self.ok

    @property
    def text(self) -> str:
        return self.payload.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.payload)

    # -- errors ----------------------------------------------------------------
    @property
    def error_type(self) -> str | None:
        if self._error is not None:
            return self._error.get("errorType")
        if self.outcome is Outcome.INIT_ERROR:
            return "Runtime.ExitError"  # what Lambda reports when init dies silently
        return None

    @property
    def error_message(self) -> str | None:
        if self._error is not None:
            return self._error.get("errorMessage")
        if self.outcome is Outcome.INIT_ERROR:
            return "the runtime exited during init without reporting an error"
        return None

    @property
    def error(self) -> dict[str, Any] | None:
        """The whole error document (any runtime's fields), None on success."""
        return None if self._error is None else dict(self._error)

    @property
    def stack_trace(self) -> list[str]:
        if self._error is None:
            return []
        # Python's runtime says stackTrace, Node.js's trace.
        trace = self._error.get("stackTrace") or self._error.get("trace") or []
        return [_frame_text(frame) for frame in trace] if isinstance(trace, list) else str(trace).splitlines()

    def raise_for_error(self) -> Invocation:
        """Raise `FunctionError` unless the invocation succeeded; return self otherwise."""
        __tracebackhide__ = True
        if self.ok:
            return self
        what = {
            Outcome.FUNCTION_ERROR: "raised an error",
            Outcome.TIMEOUT: "timed out",
            Outcome.RUNTIME_EXIT: "crashed (the runtime exited)",
            Outcome.INIT_ERROR: "failed to initialise",
        }[self.outcome]
        raise FunctionError(f"{self.function_name} {what}: {self.error_type}: {self.error_message}", self)

    # -- logs and figures --------------------------------------------------------
    def _wait_logs(self) -> InvocationLogs:
        if self._logs is not None:
            return self._logs
        logs = self._logs_source() if self._logs_source else InvocationLogs()
        if logs.complete:  # an incomplete read (slow engine) is retried on the next access
            self._logs = logs
        return logs

    @property
    def request_id(self) -> str | None:
        verdict = self.verdict
        if verdict is not None and verdict.request_id:
            return verdict.request_id
        if self._error and self._error.get("requestId"):
            return str(self._error["requestId"])
        return self._wait_logs().request_id

    @property
    def logs(self) -> list[str]:
        """The log lines of this invocation only (init lines included when it
        ran init). Its REPORT line says what `report` says: the RIE's own
        prints the configured size as Max Memory Used and a bogus Init Duration."""
        lines = list(self._wait_logs().lines)
        report = self.report
        if report is None:
            return lines
        lines = [report_line(line, report) if line.startswith("REPORT RequestId: ") else line for line in lines]
        if self.out_of_memory and not any(line.startswith("REPORT RequestId: ") for line in lines):
            # The RIE writes no REPORT for a killed runtime; Lambda's says why.
            head = f"REPORT RequestId: {self.request_id or 'unknown'}\t"
            lines.append(report_line(head + "Status: error\tError Type: Runtime.OutOfMemory", report))
        return lines

    @property
    def log_text(self) -> str:
        return "\n".join(self.logs)

    @property
    def log_records(self) -> list[dict[str, Any]]:
        """This invocation's structured log records: its lines that are JSON
        objects (what runtimes write with `log_format="JSON"`)."""
        records = []
        for line in self.logs:
            text = line.strip()
            if text.startswith("{") and text.endswith("}"):
                try:
                    record = json.loads(text)
                except ValueError:
                    continue
                if isinstance(record, dict):
                    records.append(record)
        return records

    @property
    def report(self) -> Report | None:
        """The REPORT figures. Max Memory Used is the container's real peak
        (its memory cgroup), read the first time you ask, when the engine can
        tell it; otherwise the RIE's figure, which is the configured size."""
        if self._report is not None:
            return self._report
        report = self._wait_logs().report
        if report is None and self.out_of_memory and self._memory_size_mb and self._elapsed_ms is not None:
            # Lambda reports a killed invoke too, its memory at the limit.
            report = Report(
                self._elapsed_ms, math.ceil(self._elapsed_ms), self._memory_size_mb, self._memory_size_mb
            )
            if self._logs is not None:
                self._report = report
            return report
        if report is None:
            return None
        peak = self._memory_peak() if self._memory_peak is not None else None
        if peak is not None:
            report = dataclasses.replace(report, max_memory_used_mb=peak)
        if self._logs is not None:  # complete: keep it
            self._report = report
        return report

    def __repr__(self) -> str:
        return f"<Invocation {self.outcome.value} status={self.status_code} bytes={len(self.payload)}>"


_FIGURES = ("Duration", "Billed Duration", "Memory Size", "Max Memory Used", "Init Duration")


def report_line(line: str, report: Report) -> str:
    """A `REPORT RequestId:` line with `report`'s figures, in Lambda's order
    (Duration, Billed Duration, Memory Size, Max Memory Used, Init Duration
    when the invoke ran init), keeping any other field (Status, Error Type)."""
    head, _, rest = line.partition("\t")
    others = [field for field in rest.split("\t") if field and field.partition(":")[0] not in _FIGURES]
    figures = [
        f"Duration: {report.duration_ms:.2f} ms",
        f"Billed Duration: {report.billed_duration_ms} ms",
        f"Memory Size: {report.memory_size_mb} MB",
        f"Max Memory Used: {report.max_memory_used_mb} MB",
    ]
    if report.init_duration_ms is not None:
        figures.append(f"Init Duration: {report.init_duration_ms:.2f} ms")
    return "\t".join([head.rstrip(), *figures, *others])


@dataclass
class InvocationLogs:
    request_id: str | None = None
    lines: tuple[str, ...] = ()
    report: Report | None = None
    complete: bool = True  # False: its last line had not arrived yet
