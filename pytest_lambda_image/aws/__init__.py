"""The function's AWS, locally: a backend (moto's server or an endpoint the
user runs) that function containers and tests share, and the rules event
source mappings apply to partial batch responses. Sits above function.py:
nothing below imports it. Names load on first use, so the pure batch rules
do not pull in the docker SDK."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

_WHERE = {
    "FAKE_CREDENTIALS": "backend",
    "AwsBackend": "backend",
    "ExternalBackend": "backend",
    "MotoBackend": "backend",
    "start_backend": "backend",
    "BatchResult": "batch",
    "batch_result": "batch",
    "record_id": "batch",
    "SqsEventSource": "event_source",
}

if TYPE_CHECKING:
    from .backend import FAKE_CREDENTIALS, AwsBackend, ExternalBackend, MotoBackend, start_backend
    from .batch import BatchResult, batch_result, record_id
    from .event_source import SqsEventSource

__getattr__, __dir__ = lazy_names(__name__, _WHERE, globals())

__all__ = [
    "FAKE_CREDENTIALS",
    "AwsBackend",
    "BatchResult",
    "ExternalBackend",
    "MotoBackend",
    "SqsEventSource",
    "batch_result",
    "record_id",
    "start_backend",
]
