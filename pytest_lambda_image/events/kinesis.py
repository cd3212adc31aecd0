"""Amazon Kinesis Data Streams events: records carry base64 data."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from typing import Any

from ._common import ACCOUNT_ID, REGION, apply_overrides, next_sequence, now

_SEQUENCE_BASE = 49590338271490256608559692538361571095921575989136588898


def kinesis_record(
    data: Any,
    *,
    partition_key: str = "partition-1",
    stream: str = "my-stream",
    sequence: int | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One record: `data` as bytes, text, or JSON-encoded otherwise; base64 in the event.
    Its sequence number is the base plus `sequence`, else larger than every record's before."""
    if isinstance(data, (bytes, bytearray)):
        raw = bytes(data)
    elif isinstance(data, str):
        raw = data.encode()
    else:
        raw = json.dumps(data).encode()
    number = _SEQUENCE_BASE + (next_sequence() if sequence is None else sequence)
    record = {
        "kinesis": {
            "kinesisSchemaVersion": "1.0",
            "partitionKey": partition_key,
            "sequenceNumber": str(number),
            "data": base64.b64encode(raw).decode(),
            "approximateArrivalTimestamp": round(now().timestamp(), 3),
        },
        "eventSource": "aws:kinesis",
        "eventVersion": "1.0",
        "eventID": f"shardId-000000000000:{number}",
        "eventName": "aws:kinesis:record",
        "invokeIdentityArn": f"arn:aws:iam::{ACCOUNT_ID}:role/lambda-kinesis-role",
        "awsRegion": REGION,
        "eventSourceARN": f"arn:aws:kinesis:{REGION}:{ACCOUNT_ID}:stream/{stream}",
    }
    return apply_overrides(record, overrides)


def kinesis(
    records: Any | Sequence[Any],
    *,
    stream: str = "my-stream",
    partition_key: str = "partition-1",
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A Kinesis batch: pass data items (or records made with `kinesis_record`)."""
    items = list(records) if isinstance(records, (list, tuple)) else [records]
    built = [
        item
        if isinstance(item, Mapping) and item.get("eventSource") == "aws:kinesis"
        else kinesis_record(item, partition_key=partition_key, stream=stream)
        for item in items
    ]
    return apply_overrides({"Records": built}, overrides)
