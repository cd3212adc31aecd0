"""The gateway plugin (`lambda_gateway`): a local API Gateway in front of a
function. Its options and the `lambda_gateway`, `lambda_gateway_factory` and
`lambda_gateway_url` fixtures. The function's own front gives the defaults
(through pytest_lambda_gateway_front: a template's Api / HttpApi events and
FunctionUrlConfig, with the API's stage)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Union

import pytest

from ..errors import ConfigError, LambdaImageError
from . import option
from .once import once
from .option import Option
from .reporting import or_fail

if TYPE_CHECKING:
    from .._runtime.function import LambdaFunction
    from ..gateway import LocalApiGateway

FORMATS = ("1.0", "2.0", "url", "alb")
FORMAT = Option(
    "lambda_gateway_format",
    "lambda_gateway's front: 1.0 (REST), 2.0 (HTTP API), url or alb",
    metavar="FORMAT",
    default="1.0",
)
ROUTES = Option(
    "lambda_gateway_routes",
    "lambda_gateway routes, one per line, e.g. 'GET /items/{id}' (a method API Gateway has, or ANY)",
    kind="linelist",
    flag="--lambda-gateway-route",
    metavar="ROUTE",
    default="all",
)
ALB_MULTI_VALUE = Option(
    "lambda_gateway_alb_multi_value_headers",
    "with lambda_gateway_format = alb: the target group's multi-value headers setting, true or false",
    metavar="true|false",
    default="false",
)
OPTIONS = (FORMAT, ROUTES, ALB_MULTI_VALUE)


def pytest_addoption(parser: pytest.Parser) -> None:
    option.add_options(parser, OPTIONS)


@dataclass(frozen=True)
class GatewaySettings:
    """The explicit options (None / empty: not set, so the function's own
    front, e.g. its template events, or the gateway's default applies)."""

    payload_format: str | None = None
    routes: tuple[str, ...] = ()
    alb_multi_value_headers: bool = False


_SETTINGS = pytest.StashKey[Union[GatewaySettings, LambdaImageError]]()
Front = Callable[["LambdaFunction"], Optional[Mapping[str, Any]]]


def gateway_settings(config: pytest.Config) -> GatewaySettings:
    """The gateway's options, read once per session."""
    return once(config.stash, _SETTINGS, lambda: _resolve(config))


def _resolve(config: pytest.Config) -> GatewaySettings:
    from .._runtime.settings import parse_bool

    payload_format = option.value(config, FORMAT)
    if payload_format is not None and payload_format not in FORMATS:
        raise ConfigError(f"invalid lambda_gateway_format {payload_format!r}: use 1.0, 2.0, url or alb")
    multi_value = option.value(config, ALB_MULTI_VALUE)
    routes = tuple(route for route in option.value(config, ROUTES, ()) if route.strip())
    _check_routes(routes, "lambda_gateway_routes / --lambda-gateway-route")
    return GatewaySettings(
        payload_format=payload_format,
        routes=routes,
        alb_multi_value_headers=parse_bool(multi_value, ALB_MULTI_VALUE.name) if multi_value else False,
    )


def _check_routes(routes: tuple[str, ...], where: str) -> None:
    """Refuse a bad route before a test starts (a method typo would 404 every request)."""
    from ..events.routes import Route

    for route in routes:
        try:
            Route.parse(route)
        except ValueError as exc:
            raise ConfigError(f"{exc} (check {where})") from None


def front_of(config: pytest.Config) -> Front:
    """What the plugins say is in front of a function (a template's events)."""
    return lambda function: config.hook.pytest_lambda_gateway_front(config=config, function=function)


class GatewayFactory:
    """Starts local API Gateways; each is stopped when the test ends. What
    neither the call nor the options say comes from the function's own front
    (its template events: format, routes, stage), then the gateway's defaults."""

    def __init__(
        self,
        settings: GatewaySettings,
        default_function: Callable[[], LambdaFunction],
        front: Front | None = None,
    ) -> None:
        self._settings = settings
        self._default_function = default_function
        self._front = front
        self._started: list[LocalApiGateway] = []

    def __call__(
        self,
        function: LambdaFunction | None = None,
        *,
        routes: list[str] | None = None,
        payload_format: str | None = None,
        **options: Any,
    ) -> LocalApiGateway:
        __tracebackhide__ = True
        from ..gateway import LocalApiGateway

        target = function if function is not None else self._default_function()
        front = (self._front(target) if self._front is not None else None) or {}
        _check_routes(tuple(front.get("routes") or ()), "the template's Api / HttpApi events")
        payload_format = payload_format or self._settings.payload_format or front.get("payload_format") or "1.0"
        if payload_format == "alb":  # the lambda_gateway_alb_multi_value_headers option, unless given here
            options.setdefault("multi_value_headers", self._settings.alb_multi_value_headers)
        if front.get("stage") and payload_format == front.get("payload_format"):
            options.setdefault("stage", front["stage"])
        gateway = LocalApiGateway(
            target,
            routes=routes or list(self._settings.routes) or list(front.get("routes") or ()) or None,
            payload_format=payload_format,  # type: ignore[arg-type]
            **options,
        )
        self._started.append(gateway)
        return gateway.start()

    def close(self) -> None:
        while self._started:
            self._started.pop().stop()


@pytest.fixture
def lambda_gateway_factory(request: pytest.FixtureRequest) -> Iterator[GatewayFactory]:
    """`lambda_gateway_factory(function=None, routes=None, payload_format=None,
    stage=..., stage_variables=..., authorizer=..., binary_media_types=...,
    multi_value_headers=...)` starts a local API Gateway in front of a function
    (default: `lambda_function`)."""
    settings = or_fail(lambda: gateway_settings(request.config))
    factory = GatewayFactory(settings, lambda: request.getfixturevalue("lambda_function"), front_of(request.config))
    yield factory
    factory.close()


@pytest.fixture
def lambda_gateway(lambda_gateway_factory: GatewayFactory) -> LocalApiGateway:
    """A local API Gateway in front of `lambda_function`, configured by the
    `lambda_gateway_format`, `lambda_gateway_routes` and
    `lambda_gateway_alb_multi_value_headers` options; talk to it at
    `lambda_gateway.url` with requests, curl or a browser."""
    return or_fail(lambda_gateway_factory)


@pytest.fixture
def lambda_gateway_url(lambda_gateway: LocalApiGateway) -> str:
    """The base URL of `lambda_gateway`, e.g. `http://127.0.0.1:41234`."""
    return lambda_gateway.url
