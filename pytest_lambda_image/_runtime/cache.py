"""Where the plugin keeps what it fetches or prepares once per machine (the
RIE, debugpy, relays, contexts built from zips): under XDG_CACHE_HOME."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(*parts: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "pytest-lambda-image", *parts)
