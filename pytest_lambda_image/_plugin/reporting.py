"""How the plugin's own errors reach a pytest user: one line, no traceback."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest

from ..errors import LambdaImageError

T = TypeVar("T")


def or_fail(action: Callable[[], T]) -> T:
    """Run `action`; a plugin error fails the test with its one-line message
    instead of a traceback through the plugin and the docker SDK."""
    __tracebackhide__ = True
    try:
        return action()
    except LambdaImageError as exc:
        message = str(exc)
    # Outside the except block, so pytest shows no "during handling" chain.
    pytest.fail(message, pytrace=False)
