"""The trace relay plugin (`lambda_relay`): every function the fixtures
start gets the relay in front of its runtime, so the invoke's X-Ray trace id
reaches it as `_X_AMZN_TRACE_ID` (the RIE alone drops it). `-p
no:lambda_relay` runs functions without it; PYTEST_LAMBDA_TRACE_RELAY=0 does
too, for bare LambdaFunctions as well."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .._runtime.function import LambdaFunction

OPTIONS = ()


@pytest.hookimpl(optionalhook=True)  # the core plugin declares it; it may be switched off
def pytest_lambda_function(config: pytest.Config, function: LambdaFunction, keys: Mapping[str, Any]) -> None:
    from .. import relay

    relay.attach(function)
