"""Amazon SQS events: a batch of messages."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, Union

from ._common import ACCOUNT_ID, REGION, apply_overrides, epoch_ms, now, request_id

Message = Union[str, Mapping[str, Any]]

# FIFO sequence numbers: 20-digit strings that only grow, across calls and threads.
_SEQUENCE_BASE = 18_000_000_000_000_000_000
_sequence_lock = threading.Lock()
_last_sequence = 0


def next_sequence_number() -> str:
    """The next FIFO SequenceNumber: larger than every one before it."""
    global _last_sequence
    with _sequence_lock:
        _last_sequence = max(_last_sequence + 1, _SEQUENCE_BASE + time.time_ns() // 1000)
        return str(_last_sequence)


def _body_text(body: Any) -> str:
    return body if isinstance(body, str) else json.dumps(body)


def sqs_message(
    body: Any,
    *,
    queue: str = "my-queue",
    message_attributes: Mapping[str, str | int | float | bytes] | None = None,
    message_group_id: str | None = None,
    deduplication_id: str | None = None,
    receive_count: int = 1,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One SQS record. `body` is text, or JSON-encoded when not a str.
    `message_attributes` values become String, Number or Binary attributes.
    A FIFO record (queue name ending in `.fifo`, or a group or deduplication
    id given) gets MessageGroupId, an increasing SequenceNumber and a
    MessageDeduplicationId: `deduplication_id`, else the SHA-256 hex of the
    body, as content-based deduplication makes it."""
    text = _body_text(body)
    sent = epoch_ms(now())
    attributes = {
        "ApproximateReceiveCount": str(receive_count),
        "SentTimestamp": str(sent),
        "SenderId": "AIDAIENQZJOLO23YVJ4VO",
        "ApproximateFirstReceiveTimestamp": str(sent + 3),
    }
    if message_group_id is not None or deduplication_id is not None or queue.endswith(".fifo"):
        attributes["MessageGroupId"] = message_group_id or "default"
        attributes["SequenceNumber"] = next_sequence_number()
        attributes["MessageDeduplicationId"] = deduplication_id or hashlib.sha256(text.encode()).hexdigest()
    record = {
        "messageId": request_id(),
        "receiptHandle": "AQEB" + hashlib.sha256(f"{text}{sent}".encode()).hexdigest() * 2,
        "body": text,
        "attributes": attributes,
        "messageAttributes": {name: _attribute(value) for name, value in (message_attributes or {}).items()},
        "md5OfBody": hashlib.md5(text.encode()).hexdigest(),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{queue}",
        "awsRegion": REGION,
    }
    return apply_overrides(record, overrides)


def _attribute(value: str | int | float | bytes) -> dict[str, Any]:
    lists: dict[str, Any] = {"stringListValues": [], "binaryListValues": []}
    if isinstance(value, bytes):
        return {"binaryValue": base64.b64encode(value).decode(), **lists, "dataType": "Binary"}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"stringValue": str(value), **lists, "dataType": "Number"}
    return {"stringValue": str(value), **lists, "dataType": "String"}


def sqs(
    messages: Message | Sequence[Message],
    *,
    queue: str = "my-queue",
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An SQS event with one record per message. Pass bodies (text or JSON
    data) or records made with `sqs_message`. A queue name ending in `.fifo`
    gives FIFO attributes."""
    items = [messages] if isinstance(messages, (str, Mapping)) else list(messages)
    records = [
        item if isinstance(item, Mapping) and item.get("eventSource") == "aws:sqs" else sqs_message(item, queue=queue)
        for item in items
    ]
    return apply_overrides({"Records": records}, overrides)
