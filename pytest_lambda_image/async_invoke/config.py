"""A function's asynchronous invocation settings (Lambda's EventInvokeConfig
and DeadLetterConfig): how often an event is retried, how old it may get,
and where its outcome goes. `configure_async(function, ...)` attaches them
to a function (the pytest plugin does so from a template); `invoke_async`
uses them where its own arguments say nothing."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Union

from .._lambda import MAX_ASYNC_RETRIES, MAX_EVENT_AGE_S, MIN_EVENT_AGE_S
from ..errors import ConfigError

if TYPE_CHECKING:
    from .._runtime.function import LambdaFunction

# Gets Lambda's invocation record (version 1.0).
Destination = Callable[[dict[str, Any]], None]
# Gets {"body": the event as sent, "attributes": {"RequestID", "ErrorCode", "ErrorMessage"}}:
# what Lambda puts in a dead-letter queue's message and its message attributes.
DeadLetter = Callable[[Mapping[str, Any]], None]


@dataclass(frozen=True)
class EventInvokeConfig:
    """`maximum_retry_attempts` (0-2), `maximum_event_age` (60-21600 s),
    the `on_success` / `on_failure` destinations and the `dead_letter` queue."""

    maximum_retry_attempts: int = MAX_ASYNC_RETRIES
    maximum_event_age: int = MAX_EVENT_AGE_S
    on_success: Destination | None = None
    on_failure: Destination | None = None
    dead_letter: DeadLetter | None = None

    def __post_init__(self) -> None:
        check_retries(self.maximum_retry_attempts)
        check_event_age(self.maximum_event_age)


def check_retries(retries: Any) -> None:
    if isinstance(retries, bool) or not isinstance(retries, int) or not 0 <= retries <= MAX_ASYNC_RETRIES:
        raise ConfigError(
            f"invalid retries {retries!r}: Lambda retries an async invoke 0 to {MAX_ASYNC_RETRIES} times "
            "(MaximumRetryAttempts)"
        )


def check_event_age(seconds: Any) -> None:
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not MIN_EVENT_AGE_S <= seconds <= MAX_EVENT_AGE_S:
        raise ConfigError(
            f"invalid maximum event age {seconds!r}: give whole seconds from {MIN_EVENT_AGE_S} to {MAX_EVENT_AGE_S} "
            "(MaximumEventAgeInSeconds)"
        )


# Read when an event is invoked, so that a setting only a deployed stack knows
# fails the test that invokes asynchronously, not every test of the function.
ConfigSource = Union[EventInvokeConfig, Callable[[], EventInvokeConfig]]
_configured: weakref.WeakKeyDictionary[LambdaFunction, ConfigSource] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def configure_async(function: LambdaFunction, config: ConfigSource | None = None, **settings: Any) -> None:
    """Give `function` its async invocation settings: an EventInvokeConfig
    (or a callable that makes one when an event is invoked), or its fields
    as keywords. None and no keywords: Lambda's defaults again."""
    if config is not None and settings:
        raise ConfigError("give configure_async an EventInvokeConfig or its fields as keywords, not both")
    chosen = EventInvokeConfig(**settings) if settings else config
    with _lock:
        if chosen is None:
            _configured.pop(function, None)
        else:
            _configured[function] = chosen


def event_invoke_config(function: LambdaFunction) -> EventInvokeConfig:
    """The function's async invocation settings (Lambda's defaults unless configured)."""
    with _lock:
        found = _configured.get(function)
    if found is None:
        return EventInvokeConfig()
    return found if isinstance(found, EventInvokeConfig) else found()
