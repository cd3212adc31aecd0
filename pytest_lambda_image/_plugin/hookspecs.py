"""The hooks through which capability plugins take part in the core's work.
Each capability plugin (`_plugin/<capability>.py`, registered under its own
name, so `-p no:lambda_<capability>` switches it off) implements the ones it
needs; the core plugin calls them and knows no capability by name."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from .._runtime.function import LambdaFunction
    from .plans import FunctionDraft, SettingsDraft


class NotReady(Exception):
    """Raised by a `pytest_lambda_plan` implementation when a function is
    planned ahead of its test (`draft.ahead`) and the capability would have to
    start something first (a backend): looking ahead never starts those."""


def pytest_lambda_marker_keys() -> Mapping[str, str]:
    """The keywords this capability takes in `@pytest.mark.lambda_function(...)`
    and `lambda_function_factory(...)`, each with a line of help. Keys that
    are neither a function setting nor taken by a plugin are refused."""
    raise NotImplementedError  # a specification: pluggy calls the implementations, never this


def pytest_lambda_settings(config: pytest.Config, draft: SettingsDraft) -> None:
    """Fill in or refine the session's settings while they are resolved
    (once per session): e.g. the build plugin gives the Dockerfile to build,
    the template plugin the function's image and settings from a template.
    Explicit settings win: implementations only fill what is unset."""


def pytest_lambda_plan(config: pytest.Config, draft: FunctionDraft) -> None:
    """Refine the plan of one function a test (or the look-ahead) is about
    to start: another image and settings (template_function=), variables
    and a network (the AWS backend). Raise NotReady when `draft.ahead` and
    what the capability needs is not there yet."""


def pytest_lambda_function(config: pytest.Config, function: LambdaFunction, keys: Mapping[str, Any]) -> None:
    """Attach the capability's start addition to a function the fixtures
    are about to start (`function.with_addition(...)`); `keys` are the
    marker's or factory's keywords that plugins took."""


@pytest.hookspec(firstresult=True)
def pytest_lambda_gateway_front(config: pytest.Config, function: LambdaFunction) -> Mapping[str, Any] | None:
    """The front a function is deployed behind, as the gateway's defaults
    under the explicit options: `payload_format`, `routes`, `stage` (each
    may be missing). The template plugin answers from the function's events."""
