"""Lambda's Event invocation type: accepted at once (202), run in the
background, retried twice after a function error, then handed to an
on-success or on-failure destination as Lambda's invocation record.

Above function.py (it only calls `invoke`); nothing below imports it."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

from .._lambda import MAX_ASYNC_REQUEST_BYTES
from .._lambda import MAX_ASYNC_RETRIES as MAX_RETRIES
from .._runtime.function import LambdaFunction, encode_payload
from .._runtime.invocation import Invocation
from .._runtime.tracing import new_trace_id, normalize_trace_id
from ..errors import InvokeError, LambdaImageError
from ..events._common import ACCOUNT_ID, iso_time, now

Destination = Callable[[dict[str, Any]], None]


class AsyncInvocation:
    """The handle `invoke_async` returns: `status_code` is 202 at once;
    `wait()` for the outcome, then read `attempts` (every invoke, retries
    included), `ok`, `condition` and `record` (what the destination got)."""

    status_code = 202  # as Lambda's Invoke API answers an Event invocation

    def __init__(
        self,
        function: LambdaFunction,
        body: bytes,
        *,
        retries: int,
        retry_delay: float,
        on_success: Destination | None,
        on_failure: Destination | None,
        trace_id: str | None = None,
    ) -> None:
        self.function = function
        self.request_payload = body
        self.trace_id = trace_id
        self.attempts: list[Invocation] = []
        self.record: dict[str, Any] | None = None
        self.delivery_error: LambdaImageError | None = None  # the invoke could not be made at all
        self.destination_error: Exception | None = None  # the destination raised
        self._retries = retries
        self._retry_delay = retry_delay
        self._destinations = {"Success": on_success, "RetriesExhausted": on_failure}
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pytest-lambda-async-invoke", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            for attempt in range(self._retries + 1):
                if attempt:
                    time.sleep(self._retry_delay)
                # Lambda keeps an event's trace id across its retries.
                invocation = self.function.invoke(payload=self.request_payload, trace_id=self.trace_id)
                self.attempts.append(invocation)
                if invocation.ok:
                    break
            condition = "Success" if self.ok else "RetriesExhausted"
            self.record = self._record(condition)
            destination = self._destinations[condition]
            if destination is not None:
                try:
                    destination(self.record)
                except Exception as exc:  # noqa: BLE001 (the test's own callable: reported by wait())
                    self.destination_error = exc
        except LambdaImageError as exc:
            self.delivery_error = exc
        finally:
            self._done.set()

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> AsyncInvocation:
        """Until the last attempt ended and the destination got its record
        (default: the function's timeout for each attempt, and a margin)."""
        __tracebackhide__ = True
        if timeout is None:
            timeout = (self._retries + 1) * (self.function.config.timeout + 30 + self._retry_delay)
        if not self._done.wait(timeout):
            raise InvokeError(f"{self.function.function_name}: the async invoke had not ended after {timeout:.0f} s")
        if self.delivery_error is not None:
            raise self.delivery_error
        if self.destination_error is not None:
            raise InvokeError(
                f"{self.function.function_name}: the {self.condition} destination raised "
                f"{type(self.destination_error).__name__}: {self.destination_error}"
            ) from self.destination_error
        return self

    @property
    def ok(self) -> bool:
        """The function succeeded, on the first attempt or a retry (a success is final)."""
        return bool(self.attempts) and self.attempts[-1].ok

    @property
    def condition(self) -> str | None:
        """Lambda's name for the outcome: Success or RetriesExhausted (None while it runs)."""
        if self.ok:
            return "Success"
        return "RetriesExhausted" if self.record is not None or self.done else None

    def _record(self, condition: str) -> dict[str, Any]:
        """Lambda's destination invocation record (version 1.0)."""
        last = self.attempts[-1]
        config = self.function.config
        response: dict[str, Any] = {"statusCode": 200, "executedVersion": "$LATEST"}
        if not last.ok:
            response["functionError"] = "Unhandled"
        return {
            "version": "1.0",
            "timestamp": iso_time(now()),
            "requestContext": {
                "requestId": last.request_id,
                "functionArn": f"arn:aws:lambda:{config.region}:{ACCOUNT_ID}:function:"
                f"{self.function.function_name}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": len(self.attempts),
            },
            "requestPayload": _json_or_text(self.request_payload),
            "responseContext": response,
            "responsePayload": _json_or_text(last.payload),
        }

    def __repr__(self) -> str:
        state = self.condition or "running"
        return f"<AsyncInvocation {self.function.function_name} {state} attempts={len(self.attempts)}>"


def invoke_async(
    function: LambdaFunction,
    event: Any = None,
    *,
    payload: bytes | str | None = None,
    retries: int = MAX_RETRIES,
    retry_delay: float = 0.0,
    on_success: Destination | None = None,
    on_failure: Destination | None = None,
    trace_id: str | None = None,
) -> AsyncInvocation:
    """Invoke as Lambda's Event invocation type. Returns at once (202).
    After a function error (an exception, a timeout, a crash) Lambda tries
    `retries` more times (0-2; it waits about 1 and 2 minutes, here
    `retry_delay` seconds), then hands its record to `on_success` or
    `on_failure` (any callable; `lambda_aws.sqs_destination(queue_url)` sends
    it to a queue)."""
    __tracebackhide__ = True
    body = encode_payload(event, payload, MAX_ASYNC_REQUEST_BYTES, "asynchronous")
    if not isinstance(retries, int) or not 0 <= retries <= MAX_RETRIES:
        raise InvokeError(f"invalid retries {retries!r}: Lambda retries an async invoke 0 to {MAX_RETRIES} times")
    if retry_delay < 0:
        raise InvokeError(f"invalid retry_delay {retry_delay!r}: give seconds, 0 or more")
    if function.endpoint is None:
        raise InvokeError("the function is not started: call start() or use it as a context manager")
    trace = new_trace_id() if trace_id is None else normalize_trace_id(trace_id)
    return AsyncInvocation(
        function,
        body,
        retries=retries,
        retry_delay=retry_delay,
        on_success=on_success,
        on_failure=on_failure,
        trace_id=trace,
    )


def _json_or_text(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")
