"""A template function's EventInvokeConfig and dead-letter queue, applied to
the functions the fixtures start from it (the template plugin attaches them):
`invoke_async(lambda_function, event)` then retries, ages out and delivers
as the deployed function would. Queues, topics and buses go to the AWS
backend (made there on delivery when missing); a Lambda destination that is
one of the template's functions is started on its first delivery and kept
for the session."""

from __future__ import annotations

import functools
import threading
from typing import TYPE_CHECKING, Any

import pytest

from ..errors import ConfigError

if TYPE_CHECKING:
    from .._runtime.function import LambdaFunction
    from ..async_invoke import EventInvokeConfig
    from ..template import DestinationRef, LambdaTemplate

_STARTED = pytest.StashKey["dict[str, LambdaFunction]"]()  # destination functions, by logical id
_LOCK = threading.Lock()


def attach(config: pytest.Config, function: LambdaFunction, template: LambdaTemplate, name: str) -> None:
    """Give `function` the async settings of the template's function `name`,
    read when it is first invoked asynchronously."""
    from ..async_invoke import configure_async

    configure_async(function, functools.partial(event_invoke_config, config, template, name))


def event_invoke_config(config: pytest.Config, template: LambdaTemplate, name: str) -> EventInvokeConfig:
    from ..async_invoke import EventInvokeConfig

    settings = template.async_settings(name)
    fields: dict[str, Any] = {}
    if settings.maximum_retry_attempts is not None:
        fields["maximum_retry_attempts"] = settings.maximum_retry_attempts
    if settings.maximum_event_age is not None:
        fields["maximum_event_age"] = settings.maximum_event_age
    for key in ("on_success", "on_failure"):
        ref = getattr(settings, key)
        if ref is not None:
            fields[key] = _destination(config, ref)
    if settings.dead_letter is not None:
        fields["dead_letter"] = _backend(config, settings.dead_letter.arn).dead_letter(settings.dead_letter.arn, True)
    try:
        return EventInvokeConfig(**fields)
    except ConfigError as exc:
        raise ConfigError(f"{exc} (from {template.path.name}, function {name})") from None


def _destination(config: pytest.Config, ref: DestinationRef) -> Any:
    if ref.kind == "lambda":
        from ..async_invoke import LambdaDestination

        if ref.function is None:
            raise ConfigError(
                f"destination {ref.arn} is a function the template does not have: a local test can only deliver "
                "to one of its functions (or give the destination in the test: LambdaDestination(function))"
            )
        return LambdaDestination(functools.partial(_destination_function, config, ref.function))
    return _backend(config, ref.arn).destination(ref.arn, True)


def _backend(config: pytest.Config, arn: str) -> Any:
    if not config.pluginmanager.has_plugin("lambda_aws"):
        raise ConfigError(f"the template sends async outcomes to {arn}: that needs the lambda_aws plugin (not -p no:)")
    from .aws import session_aws

    return session_aws(config)


def _destination_function(config: pytest.Config, name: str) -> LambdaFunction:
    """The template's function `name`, started once for the session."""
    from . import session
    from .factories import plan_function

    with _LOCK:
        started = config.stash.setdefault(_STARTED, {})
        function = started.get(name)
        if function is None or not function.is_running():
            plan = plan_function(config, None, {"template_function": name}, None)
            function = plan.make(config, session.session_engine(config), session.resolve(config).pull)
            started[name] = function.start()
        return function


def stop_destinations(config: pytest.Config) -> None:
    for function in config.stash.get(_STARTED, {}).values():
        function.stop()
