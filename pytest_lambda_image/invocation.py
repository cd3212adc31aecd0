"""The result of one invoke: what happened, the payload, the REPORT figures and
the log lines of that invocation alone."""

from __future__ import annotations

import enum
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .errors import FunctionError

_TIMEOUT_BODY = re.compile(rb"^Task timed out after \d+(?:\.\d+)? seconds$")
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


def classify(status_code: int, body: bytes) -> tuple[Outcome, dict[str, Any] | None]:
    """Tell the outcome from the RIE's answer (it sets no X-Amz-Function-Error
    header, so the body's shape is all there is). Returns the parsed error
    document when there is one."""
    error = _error_document(body)
    if status_code == 200:
        if _TIMEOUT_BODY.match(body.strip()):
            return Outcome.TIMEOUT, None
        if error is not None:
            return Outcome.FUNCTION_ERROR, error
        return Outcome.SUCCESS, None
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


def _error_document(body: bytes) -> dict[str, Any] | None:
    # Cheap test first: warm invokes must not pay for parsing big payloads.
    if b'"errorType"' not in body[:4096] and b'"errorMessage"' not in body[:4096]:
        return None
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if isinstance(doc, dict) and ("errorType" in doc or "errorMessage" in doc) and set(doc) <= _ERROR_KEYS:
        return doc
    return None


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
    ) -> None:
        self.status_code = status_code
        self.payload = payload
        self.outcome, self._error = classify(status_code, payload)
        self._logs_source = logs_source
        self._logs: InvocationLogs | None = None
        self.function_name = function_name

    # -- payload ---------------------------------------------------------------
    @property
    def ok(self) -> bool:
        return self.outcome is Outcome.SUCCESS

    @property
    def text(self) -> str:
        return self.payload.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.payload)

    # -- errors ----------------------------------------------------------------
    @property
    def error_type(self) -> str | None:
        if self.outcome is Outcome.TIMEOUT:
            return "Sandbox.Timedout"
        if self._error is not None:
            return self._error.get("errorType")
        if self.outcome is Outcome.INIT_ERROR:
            return "Runtime.ExitError"  # what Lambda reports when init dies silently
        return None

    @property
    def error_message(self) -> str | None:
        if self.outcome is Outcome.TIMEOUT:
            return self.text.strip()
        if self._error is not None:
            return self._error.get("errorMessage")
        if self.outcome is Outcome.INIT_ERROR:
            return "the runtime exited during init without reporting an error"
        return None

    @property
    def stack_trace(self) -> list[str]:
        if self._error is None:
            return []
        trace = self._error.get("stackTrace") or []
        return [str(frame) for frame in trace] if isinstance(trace, list) else [str(trace)]

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
        if self._error and self._error.get("requestId"):
            return str(self._error["requestId"])
        return self._wait_logs().request_id

    @property
    def logs(self) -> list[str]:
        """The log lines of this invocation only (init lines included when it ran init)."""
        return list(self._wait_logs().lines)

    @property
    def log_text(self) -> str:
        return "\n".join(self.logs)

    @property
    def report(self) -> Report | None:
        return self._wait_logs().report

    def __repr__(self) -> str:
        return f"<Invocation {self.outcome.value} status={self.status_code} bytes={len(self.payload)}>"


@dataclass
class InvocationLogs:
    request_id: str | None = None
    lines: tuple[str, ...] = ()
    report: Report | None = None
    complete: bool = True  # False: its last line had not arrived yet
