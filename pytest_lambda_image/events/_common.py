"""Small pieces every event factory uses: ids, AWS time formats, overrides."""

from __future__ import annotations

import copy
import datetime as _dt
import random
import string
import threading
import uuid
from collections.abc import Mapping
from typing import Any

from .._lambda import DEFAULT_REGION, EXAMPLE_ACCOUNT_ID

ACCOUNT_ID = EXAMPLE_ACCOUNT_ID
REGION = DEFAULT_REGION


def request_id() -> str:
    return str(uuid.uuid4())


_sequence_lock = threading.Lock()
_sequence = 0


def next_sequence() -> int:
    """A number larger than every one before it, across calls and threads:
    stream records made one by one get distinct, increasing sequence numbers,
    as a shard gives them (a partial batch response names records by them)."""
    global _sequence
    with _sequence_lock:
        _sequence += 1
        return _sequence


def short_id(length: int = 10) -> str:
    """API ids, distribution ids: lower-case letters and digits."""
    return "".join(random.choices(string.ascii_lowercase + string.digits, k=length))


def now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


def epoch_ms(moment: _dt.datetime) -> int:
    return int(moment.timestamp() * 1000)


def clf_time(moment: _dt.datetime) -> str:
    """API Gateway's requestTime: `09/Apr/2015:12:34:56 +0000` (English month names)."""
    months = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
    return f"{moment.day:02d}/{months[moment.month - 1]}/{moment.year}:{moment:%H:%M:%S} +0000"


def iso_time(moment: _dt.datetime, millis: bool = True) -> str:
    """`2026-11-21T05:17:45.052Z` (or without the fraction)."""
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{moment.microsecond // 1000:03d}Z" if millis else f"{text}Z"


def trace_id(moment: _dt.datetime) -> str:
    return f"Root=1-{int(moment.timestamp()):08x}-{uuid.uuid4().hex[:24]}"


def apply_overrides(event: dict[str, Any], overrides: Mapping[str, Any] | None) -> dict[str, Any]:
    """Deep-merge `overrides` into `event`: mappings merge, anything else
    replaces, and a value of `DELETE` removes the field."""
    if not overrides:
        return event
    for key, value in overrides.items():
        if value is DELETE:
            event.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(event.get(key), dict):
            apply_overrides(event[key], value)
        else:
            event[key] = copy.deepcopy(value)
    return event


class _Delete:
    def __repr__(self) -> str:
        return "DELETE"


DELETE: Any = _Delete()
