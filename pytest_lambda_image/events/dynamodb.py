"""Amazon DynamoDB Streams events, with Python values turned into typed
AttributeValues (`{"S": ...}`, `{"N": "1"}`, `{"M": {...}}`, ...)."""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from ._common import ACCOUNT_ID, REGION, apply_overrides, next_sequence, now, request_id

# Shaped like a stream's SequenceNumber: a long decimal string.
_SEQUENCE_BASE = 4_421_584_500_000_000_017_450_000_000
_VIEW_TYPES = ("NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY")


def to_attribute_value(value: Any) -> dict[str, Any]:
    """A Python value as a DynamoDB AttributeValue."""
    if value is None:
        return {"NULL": True}
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, (int, float, Decimal)):
        if isinstance(value, (float, Decimal)) and not math.isfinite(value):
            raise TypeError(f"DynamoDB numbers are finite: {value!r}")
        return {"N": str(value)}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, (bytes, bytearray)):
        return {"B": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, (set, frozenset)):
        if not value:
            raise TypeError("DynamoDB has no empty sets")
        items = sorted(value, key=repr)
        if all(isinstance(v, str) for v in items):
            return {"SS": items}
        if all(isinstance(v, (int, float, Decimal)) and not isinstance(v, bool) for v in items):
            return {"NS": [str(v) for v in items]}
        if all(isinstance(v, (bytes, bytearray)) for v in items):
            return {"BS": [base64.b64encode(bytes(v)).decode() for v in items]}
        raise TypeError(f"a DynamoDB set holds only strings, only numbers or only bytes: {value!r}")
    if isinstance(value, Mapping):
        return {"M": to_item(value)}
    if isinstance(value, (list, tuple)):
        return {"L": [to_attribute_value(v) for v in value]}
    raise TypeError(f"no DynamoDB type for {type(value).__name__}: {value!r}")


def to_item(values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(name): to_attribute_value(value) for name, value in values.items()}


def dynamodb_record(
    event_name: str = "INSERT",
    *,
    keys: Mapping[str, Any],
    new_image: Mapping[str, Any] | None = None,
    old_image: Mapping[str, Any] | None = None,
    table: str = "my-table",
    view_type: str = "NEW_AND_OLD_IMAGES",
    sequence_number: int | str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One stream record: INSERT (new image), MODIFY (both) or REMOVE (old image).
    Its SequenceNumber is `sequence_number`, else one larger than every record's before."""
    if event_name not in ("INSERT", "MODIFY", "REMOVE"):
        raise ValueError(f"invalid event_name {event_name!r}: INSERT, MODIFY or REMOVE")
    if view_type not in _VIEW_TYPES:
        raise ValueError(f"invalid view_type {view_type!r}: one of {', '.join(_VIEW_TYPES)}")
    change: dict[str, Any] = {
        "ApproximateCreationDateTime": int(now().timestamp()),
        "Keys": to_item(keys),
        "SequenceNumber": str(_SEQUENCE_BASE + next_sequence() if sequence_number is None else sequence_number),
        "SizeBytes": 26,
        "StreamViewType": view_type,
    }
    if new_image is not None and event_name != "REMOVE" and view_type in ("NEW_AND_OLD_IMAGES", "NEW_IMAGE"):
        change["NewImage"] = to_item(new_image)
    if old_image is not None and event_name != "INSERT" and view_type in ("NEW_AND_OLD_IMAGES", "OLD_IMAGE"):
        change["OldImage"] = to_item(old_image)
    record = {
        "eventID": request_id().replace("-", ""),
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": REGION,
        "dynamodb": change,
        "eventSourceARN": f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{table}/stream/2026-01-01T00:00:00.000",
    }
    return apply_overrides(record, overrides)


def dynamodb_stream(
    records: Sequence[Mapping[str, Any]], *, overrides: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """A DynamoDB Streams batch of records made with `dynamodb_record`."""
    return apply_overrides({"Records": [dict(r) for r in records]}, overrides)
