"""Fresh containers started ahead: while one test runs, the container the
next marked test will ask for starts in the background, and that test takes
it instead of waiting for a start of its own.

The plugin offers the next item's container (pytest's `nextitem`, which
under xdist is the worker's own next test), so at most a couple start at a
time. A container no test took (its test was skipped, its fixture failed,
or it asked for other settings) is removed when that test ends."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from .._runtime.function import LambdaFunction

STARTED_WAIT_S = 120.0
# At the session's end (also Ctrl-C) a start under way gets this long; a
# container it makes later is tracked, and removed at exit or by the next session.
CLOSE_WAIT_S = 15.0


@dataclass
class _Entry:
    key: str
    owner: str  # the test it was started for
    function: LambdaFunction | None = None
    failed: bool = False
    done: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None


class Lookahead:
    def __init__(self) -> None:
        self._entries: list[_Entry] = []
        self._lock = threading.Lock()
        self._closed = False

    def offer(self, owner: str, key: str, make: Callable[[], LambdaFunction]) -> None:
        """Start `make()` in the background for the test `owner`."""
        with self._lock:
            if self._closed or any(e.owner == owner for e in self._entries):
                return
            entry = _Entry(key, owner)
            entry.thread = threading.Thread(
                target=self._start, args=(entry, make), name="pytest-lambda-lookahead", daemon=True
            )
            self._entries.append(entry)
            entry.thread.start()

    def _start(self, entry: _Entry, make: Callable[[], LambdaFunction]) -> None:
        try:
            function = make()
            function.start()
            entry.function = function
        except Exception:  # noqa: BLE001 (the test starts its own and meets the error there)
            entry.failed = True
        finally:
            entry.done.set()

    def take(self, owner: str, key: str) -> LambdaFunction | None:
        """The container started for `owner` with these settings, once it is up."""
        with self._lock:
            entry = next((e for e in self._entries if e.owner == owner and e.key == key), None)
            if entry is None:
                return None
            self._entries.remove(entry)
        entry.done.wait(STARTED_WAIT_S)
        return entry.function if not entry.failed else None

    def discard(self, owner: str) -> None:
        """Remove what was started for `owner` and not taken."""
        with self._lock:
            left = [e for e in self._entries if e.owner == owner]
            self._entries = [e for e in self._entries if e.owner != owner]
        for entry in left:
            _drop(entry, background=True)

    def close(self) -> None:
        """Wait for starts under way (so none creates a container after the
        session's cleanup) and remove everything not taken."""
        with self._lock:
            self._closed = True
            left, self._entries = self._entries, []
        for entry in left:
            _drop(entry, background=False, wait=CLOSE_WAIT_S)


def _drop(entry: _Entry, background: bool, wait: float = STARTED_WAIT_S) -> None:
    entry.done.wait(wait)
    if entry.function is not None:
        entry.function.stop(background=background)
