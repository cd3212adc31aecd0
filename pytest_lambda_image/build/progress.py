"""Build output for a terminal: quiet for a quick build, every line once a
build has taken a few seconds (so a long build shows where it is)."""

from __future__ import annotations

import collections
import time
from collections.abc import Callable

QUIET_S = 3.0


class BuildProgress:
    """A `progress` callback for build_image that writes through `write`."""

    def __init__(self, write: Callable[[str], None], what: str, quiet_for: float = QUIET_S) -> None:
        self._write = write
        self._what = what
        self._quiet_until = time.monotonic() + quiet_for
        self._recent: collections.deque[str] = collections.deque(maxlen=5)
        self.shown = False

    def __call__(self, line: str) -> None:
        if not line.strip():
            return
        if not self.shown:
            self._recent.append(line)
            if time.monotonic() < self._quiet_until:
                return
            self.shown = True
            self._write(f"lambda image: building {self._what} ...")
            lines = list(self._recent)
        else:
            lines = [line]
        for text in lines:
            self._write(f"  {text}")
