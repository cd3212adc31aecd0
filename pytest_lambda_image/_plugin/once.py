"""Session state made once: a value, or the failure to make it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import pytest

from ..errors import LambdaImageError

T = TypeVar("T")


def once(stash: pytest.Stash, key: pytest.StashKey[T | LambdaImageError], make: Callable[[], T]) -> T:
    """`make()` the first time, kept in `stash`; a plugin error is kept too, so
    every later caller gets the same error without trying again."""
    if key not in stash:
        try:
            stash[key] = make()
        except LambdaImageError as exc:
            stash[key] = exc
    found = stash[key]
    if isinstance(found, LambdaImageError):
        raise found.with_traceback(None)  # the same object each time: do not let its traceback grow
    return found
