"""Lambda's Event invocation type: accepted at once (202), run in the
background, retried after a function error under the same request id (twice
unless configured), dropped when older than its maximum age, then handed to
an on-success or on-failure destination as Lambda's invocation record (and
a failed event's payload to the dead-letter queue).

Above function.py (it only calls `invoke`); nothing below imports it."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from .._lambda import ASYNC_RETRY_WAITS_S, MAX_ASYNC_REQUEST_BYTES
from .._runtime.function import LambdaFunction, encode_payload
from .._runtime.invocation import Invocation
from .._runtime.tracing import new_trace_id, normalize_trace_id
from ..errors import ConfigError, InvokeError, LambdaImageError
from ..events._common import ACCOUNT_ID, iso_time, now
from .config import (
    DeadLetter,
    Destination,
    EventInvokeConfig,
    check_event_age,
    check_retries,
    configure_async,
    event_invoke_config,
)

__all__ = [
    "AsyncInvocation",
    "DeadLetter",
    "Destination",
    "EventInvokeConfig",
    "LambdaDestination",
    "configure_async",
    "event_invoke_config",
    "invoke_async",
]

MAX_DLQ_ERROR_BYTES = 1024  # a dead-letter message's ErrorMessage: the first 1 KB


class AsyncInvocation:
    """The handle `invoke_async` returns: `status_code` is 202 at once and
    `request_id` the event's id (every attempt runs under it, as on Lambda);
    `wait()` for the outcome, then read `attempts` (every invoke, retries
    included), `ok`, `condition` and `record` (what the destination got)."""

    status_code = 202  # as Lambda's Invoke API answers an Event invocation

    def __init__(
        self,
        function: LambdaFunction,
        body: bytes,
        config: EventInvokeConfig,
        *,
        retry_delay: float,
        trace_id: str | None = None,
        request_id: str | None = None,
    ) -> None:
        self.function = function
        self.request_payload = body
        self.trace_id = trace_id
        self.request_id = request_id or str(uuid.uuid4())
        self.config = config
        self.attempts: list[Invocation] = []
        self.record: dict[str, Any] | None = None
        self.delivery_error: LambdaImageError | None = None  # an attempt could not be made or finished
        self.destination_error: Exception | None = None  # a destination raised
        self._retry_delay = retry_delay
        self._age_exceeded = False
        self._failed_target = ""  # the destination that raised, for wait()'s message
        self._accepted = time.monotonic()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="pytest-lambda-async-invoke", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._attempt_all()
            self._deliver()
        except LambdaImageError as exc:
            self.delivery_error = exc
        except Exception as exc:  # noqa: BLE001 (reported by wait(), never as a thread's traceback)
            self.delivery_error = InvokeError(f"{type(exc).__name__}: {exc}")
        finally:
            self._done.set()

    def _attempt_all(self) -> None:
        for attempt in range(self.config.maximum_retry_attempts + 1):
            if attempt:
                if self._age(attempt) > self.config.maximum_event_age:
                    self._age_exceeded = True
                    return
                time.sleep(self._retry_delay)
            # Lambda keeps an event's request id and trace id across its retries.
            invocation = self.function.invoke(
                payload=self.request_payload, trace_id=self.trace_id, request_id=self.request_id
            )
            self.attempts.append(invocation)
            if invocation.ok:
                return

    def _age(self, attempt: int) -> float:
        """The event's age at `attempt` as Lambda would have it: the time
        spent so far, and Lambda's waits before each retry (about 1 and 2
        minutes, which the plugin shortens to `retry_delay`)."""
        return time.monotonic() - self._accepted + sum(ASYNC_RETRY_WAITS_S[:attempt])

    def _deliver(self) -> None:
        condition = "Success" if self.ok else ("EventAgeExceeded" if self._age_exceeded else "RetriesExhausted")
        self.record = self._record(condition)
        targets: list[tuple[str, Any, Any]] = []
        if condition == "Success":
            targets.append(("Success destination", self.config.on_success, self.record))
        else:
            targets.append((f"{condition} destination", self.config.on_failure, self.record))
            targets.append(("dead-letter queue", self.config.dead_letter, self._dead_letter_message()))
        for what, target, message in targets:
            if target is None:
                continue
            try:
                target(message)
            except Exception as exc:  # noqa: BLE001 (the test's own callable: reported by wait())
                self.destination_error = exc
                self._failed_target = what

    @property
    def done(self) -> bool:
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> AsyncInvocation:
        """Until the last attempt ended and the destinations got their record
        (default: the function's timeout for each attempt, and a margin)."""
        __tracebackhide__ = True
        if timeout is None:
            tries = self.config.maximum_retry_attempts + 1
            timeout = tries * (self.function.config.timeout + 30 + self._retry_delay)
        if not self._done.wait(timeout):
            raise InvokeError(f"{self.function.function_name}: the async invoke had not ended after {timeout:.0f} s")
        if self.delivery_error is not None:
            # One line, raised here: the background thread's stack says nothing to the test.
            raise InvokeError(
                f"the async event {self.request_id} failed on attempt {len(self.attempts) + 1}: {self.delivery_error}"
            ) from None
        if self.destination_error is not None:
            raise InvokeError(
                f"{self.function.function_name}: the {self._failed_target} raised "
                f"{type(self.destination_error).__name__}: {self.destination_error}"
            ) from self.destination_error
        return self

    @property
    def ok(self) -> bool:
        """The function succeeded, on the first attempt or a retry (a success is final)."""
        return bool(self.attempts) and self.attempts[-1].ok

    @property
    def condition(self) -> str | None:
        """Lambda's name for the outcome: Success, RetriesExhausted or
        EventAgeExceeded (None while it runs)."""
        if self.record is not None:
            return str(self.record["requestContext"]["condition"])
        if self.ok:
            return "Success"
        return "RetriesExhausted" if self.done else None

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
                "requestId": self.request_id,
                "functionArn": f"arn:aws:lambda:{config.region}:{ACCOUNT_ID}:function:"
                f"{self.function.function_name}:$LATEST",
                "condition": condition,
                "approximateInvokeCount": len(self.attempts),
            },
            "requestPayload": _json_or_text(self.request_payload),
            "responseContext": response,
            "responsePayload": _json_or_text(last.payload),
        }

    def _dead_letter_message(self) -> dict[str, Any]:
        """The event as sent, with the attributes Lambda gives a dead-letter message."""
        last = self.attempts[-1]
        message = last.error_message or last.text
        return {
            "body": self.request_payload.decode("utf-8", "replace"),
            "attributes": {
                "RequestID": self.request_id,
                "ErrorCode": "200",
                "ErrorMessage": message.encode()[:MAX_DLQ_ERROR_BYTES].decode("utf-8", "ignore"),
            },
        }

    def __repr__(self) -> str:
        state = self.condition or "running"
        return f"<AsyncInvocation {self.function.function_name} {state} attempts={len(self.attempts)}>"


def invoke_async(
    function: LambdaFunction,
    event: Any = None,
    *,
    payload: bytes | str | None = None,
    retries: int | None = None,
    retry_delay: float = 0.0,
    max_event_age: int | None = None,
    on_success: Destination | None = None,
    on_failure: Destination | None = None,
    dead_letter: DeadLetter | None = None,
    trace_id: str | None = None,
    request_id: str | None = None,
) -> AsyncInvocation:
    """Invoke as Lambda's Event invocation type. Returns at once (202).
    After a function error (an exception, a timeout, a crash) Lambda tries
    `retries` more times (0-2; it waits about 1 and 2 minutes, here
    `retry_delay` seconds) unless the event is older than `max_event_age`,
    then hands its record to `on_success` or `on_failure` (any callable;
    `lambda_aws.destination(arn)` sends it to a queue, topic or event bus,
    `LambdaDestination(function)` to another function) and a failed event to
    `dead_letter`. What is not given comes from the function's configuration
    (`configure_async`, or a template's EventInvokeConfig and DeadLetterConfig)."""
    __tracebackhide__ = True
    body = encode_payload(event, payload, MAX_ASYNC_REQUEST_BYTES, "asynchronous")
    if retry_delay < 0:
        raise InvokeError(f"invalid retry_delay {retry_delay!r}: give seconds, 0 or more")
    if function.endpoint is None:
        raise InvokeError("the function is not started: call start() or use it as a context manager")
    try:
        config = _config(function, retries, max_event_age, on_success, on_failure, dead_letter)
    except ConfigError as exc:
        raise InvokeError(str(exc)) from None
    trace = new_trace_id() if trace_id is None else normalize_trace_id(trace_id)
    return AsyncInvocation(function, body, config, retry_delay=retry_delay, trace_id=trace, request_id=request_id)


def _config(
    function: LambdaFunction,
    retries: int | None,
    max_event_age: int | None,
    on_success: Destination | None,
    on_failure: Destination | None,
    dead_letter: DeadLetter | None,
) -> EventInvokeConfig:
    """The function's settings under the arguments given (checked first, so a
    bad argument is reported before a configuration that cannot be read)."""
    if retries is not None:
        check_retries(retries)
    if max_event_age is not None:
        check_event_age(max_event_age)
    configured = event_invoke_config(function)
    return EventInvokeConfig(
        maximum_retry_attempts=configured.maximum_retry_attempts if retries is None else retries,
        maximum_event_age=configured.maximum_event_age if max_event_age is None else max_event_age,
        on_success=on_success or configured.on_success,
        on_failure=on_failure or configured.on_failure,
        dead_letter=dead_letter or configured.dead_letter,
    )


class LambdaDestination:
    """A function as an async invoke's destination: Lambda invokes it
    asynchronously with the invocation record as its event (under that
    function's own async settings). `function` may be a callable that gives
    it on the first delivery (the plugin starts a template's function so).
    `invocations` are those invokes."""

    def __init__(self, function: LambdaFunction | Callable[[], LambdaFunction]) -> None:
        self._function = function
        self.invocations: list[AsyncInvocation] = []
        self._lock = threading.Lock()

    @property
    def function(self) -> LambdaFunction:
        with self._lock:
            if not isinstance(self._function, LambdaFunction):
                self._function = self._function()
            return self._function

    def __call__(self, record: dict[str, Any]) -> None:
        self.invocations.append(invoke_async(self.function, record))

    def __repr__(self) -> str:
        name = self._function.function_name if isinstance(self._function, LambdaFunction) else "(not started)"
        return f"<LambdaDestination {name}>"


def _json_or_text(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data.decode("utf-8", "replace")
