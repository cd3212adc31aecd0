"""The debugger plugin (`lambda_debug`): functions started ready for a
debugger (debugpy, Node's inspector). Its option, the marker's `debug=`, and
the attach line shown past pytest's output capture."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Union

import pytest

from ..errors import LambdaImageError
from . import option, session
from .once import once
from .option import Option

if TYPE_CHECKING:
    from .._runtime.function import LambdaFunction

DEBUG = Option(
    "lambda_debug",
    "start functions ready for a debugger to attach (debugpy / Node's inspector): auto, python or node, "
    "optionally :PORT on the host; off: no debugger",
    metavar="auto|python|node[:PORT]",
    const="auto",
    default="off",
)
OPTIONS = (DEBUG,)


def pytest_addoption(parser: pytest.Parser) -> None:
    option.add_options(parser, OPTIONS)


MARKER_KEYS = {"debug": "start this test's function ready for a debugger: auto, python or node [:PORT], or off"}
_SETTING = pytest.StashKey[Union[str, None, LambdaImageError]]()
_ANNOUNCING = pytest.StashKey[bool]()


@pytest.hookimpl(optionalhook=True)  # the core plugin declares it; it may be switched off
def pytest_lambda_marker_keys() -> Mapping[str, str]:
    return MARKER_KEYS


@pytest.hookimpl(optionalhook=True)  # the core plugin declares it; it may be switched off
def pytest_lambda_settings(config: pytest.Config, draft: Any) -> None:
    debug_setting(config)  # a bad value fails the session's settings, as every setting does


def debug_setting(config: pytest.Config) -> str | None:
    """The session's debug setting, normalized (None: off)."""
    from ..debug import parse_debug

    return once(config.stash, _SETTING, lambda: parse_debug(option.value(config, DEBUG)))


@pytest.hookimpl(optionalhook=True)  # the core plugin declares it; it may be switched off
def pytest_lambda_function(config: pytest.Config, function: LambdaFunction, keys: Mapping[str, Any]) -> None:
    setting = keys["debug"] if "debug" in keys else debug_setting(config)
    if not setting:
        return
    from .. import debug

    if not config.stash.get(_ANNOUNCING, False):
        # Where to attach must show while the test waits, not in its captured output.
        config.stash[_ANNOUNCING] = True
        config.add_cleanup(debug.set_announcer(session.announcer(config)))
    debug.attach(function, setting)
