"""How Lambda's event source mappings read a function's partial batch
response (`ReportBatchItemFailures`): which SQS messages go back to the queue,
and where a Kinesis or DynamoDB stream is checkpointed.

The rules, from AWS's documentation of partial batch responses:

- a function error (an exception, a timeout, a crash) fails the whole batch;
- without ReportBatchItemFailures any successful answer is a complete success;
- with it, a null or empty answer, or a null or empty `batchItemFailures`
  list, is a complete success;
- an answer that is not JSON, an item without `itemIdentifier`, a null or
  empty identifier, or one that names no record of the batch fails the whole
  batch;
- otherwise SQS returns exactly the named messages to the queue, and a
  stream checkpoints before the lowest failed sequence number: that record and
  every later one are retried.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

Source = Literal["sqs", "kinesis", "dynamodb"]
_SOURCES: dict[str, Source] = {"aws:sqs": "sqs", "aws:kinesis": "kinesis", "aws:dynamodb": "dynamodb"}


@dataclass(frozen=True)
class BatchResult:
    """What the event source mapping does with one batch after the invoke."""

    source: Source
    records: tuple[Mapping[str, Any], ...]
    #: deleted from the queue (SQS) or checkpointed (streams)
    succeeded: tuple[Mapping[str, Any], ...]
    #: returned to the queue (SQS) or retried from the checkpoint (streams)
    retried: tuple[Mapping[str, Any], ...]
    #: the whole batch failed (function error or a malformed answer)
    complete_failure: bool
    #: why the batch ended this way, in a sentence
    reason: str
    #: streams: the sequence number processing resumes from (None when none failed)
    checkpoint: str | None = None
    #: the invoke that produced the answer, when the helper made it
    invocation: Any = None

    @property
    def ok(self) -> bool:
        """Every record succeeded."""
        return not self.retried

    @property
    def succeeded_ids(self) -> list[str]:
        return [record_id(record) for record in self.succeeded]

    @property
    def retried_ids(self) -> list[str]:
        return [record_id(record) for record in self.retried]

    def __repr__(self) -> str:
        return (
            f"<BatchResult {self.source} {len(self.succeeded)} succeeded, {len(self.retried)} retried"
            f"{' (complete failure)' if self.complete_failure else ''}: {self.reason}>"
        )


def event_source(record: Mapping[str, Any]) -> Source:
    name = record.get("eventSource") or record.get("EventSource")
    if name not in _SOURCES:
        raise ValueError(
            f"record with eventSource {name!r} has no partial batch response: use SQS, Kinesis or DynamoDB stream "
            "records (events.sqs, events.kinesis, events.dynamodb_stream)"
        )
    return _SOURCES[name]


def record_id(record: Mapping[str, Any]) -> str:
    """The itemIdentifier Lambda expects for a record: the SQS messageId, or
    the stream record's sequence number."""
    source = event_source(record)
    if source == "sqs":
        return str(record["messageId"])
    if source == "kinesis":
        return str(record["kinesis"]["sequenceNumber"])
    return str(record["dynamodb"]["SequenceNumber"])


def batch_result(
    event: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    response: Any,
    *,
    function_error: bool | None = None,
    report_batch_item_failures: bool = True,
) -> BatchResult:
    """Apply the event source mapping's rules to one batch.

    `event` is the event the function got (or its records); `response` is the
    `Invocation` (its outcome decides `function_error`) or the answer itself:
    bytes or text as returned, or already-decoded JSON data."""
    records = tuple(event["Records"] if isinstance(event, Mapping) else event)
    if not records:
        raise ValueError("the batch has no records")
    source = event_source(records[0])
    ids = _distinct_ids(records)
    invocation = None
    if hasattr(response, "outcome") and hasattr(response, "payload"):
        invocation = response
        if function_error is None:
            function_error = not response.ok
        response = response.payload

    def whole(reason: str, failed: bool = True) -> BatchResult:
        return BatchResult(
            source,
            records,
            () if failed else records,
            records if failed else (),
            failed,
            reason,
            record_id(records[0]) if failed and source != "sqs" else None,
            invocation,
        )

    if function_error:
        return whole("the function returned an error: the whole batch is retried")
    if not report_batch_item_failures:
        return whole("the invoke succeeded (ReportBatchItemFailures off: the answer is not read)", failed=False)
    failures, problem = _failures(response)
    if problem:
        return whole(f"{problem}: the whole batch is retried")
    if not failures:
        return whole("no batch item failures reported", failed=False)
    for identifier in failures:
        if identifier not in ids:
            return whole(f"itemIdentifier {identifier!r} names no record of the batch: the whole batch is retried")
    if source == "sqs":
        failed = set(failures)
        return BatchResult(
            source,
            records,
            tuple(r for r, i in zip(records, ids) if i not in failed),
            tuple(r for r, i in zip(records, ids) if i in failed),
            False,
            f"{len(failed)} of {len(records)} messages reported failed: they return to the queue",
            None,
            invocation,
        )
    checkpoint = min(failures, key=_sequence_key)
    first = ids.index(checkpoint)
    return BatchResult(
        source,
        records,
        records[:first],
        records[first:],
        False,
        f"lowest failed sequence number {checkpoint}: it and the {len(records) - first - 1} records after it are "
        "retried",
        checkpoint,
        invocation,
    )


def _distinct_ids(records: tuple[Mapping[str, Any], ...]) -> list[str]:
    """The records' identifiers, refused when two are the same: Lambda never
    sends such a batch, and no answer could name one of them alone."""
    ids = [record_id(record) for record in records]
    seen: set[str] = set()
    for identifier in ids:
        if identifier in seen:
            raise ValueError(
                f"two records of the batch have the identifier {identifier!r}: give each its own messageId or "
                "sequence number (the event factories do unless told otherwise)"
            )
        seen.add(identifier)
    return ids


def _failures(response: Any) -> tuple[list[str], str | None]:
    """The reported identifiers, or the reason the answer fails the batch."""
    if isinstance(response, (bytes, bytearray)):
        response = bytes(response).decode("utf-8", "replace")
    if isinstance(response, str):
        if not response.strip():
            return [], None
        try:
            response = json.loads(response)
        except ValueError:
            return [], "the answer is not valid JSON"
    if response is None:
        return [], None
    if not isinstance(response, Mapping):
        return [], f"the answer is a JSON {type(response).__name__}, not an object with batchItemFailures"
    failures = response.get("batchItemFailures")
    if failures is None:
        return [], None
    if not isinstance(failures, list):
        return [], "batchItemFailures is not a list"
    identifiers = []
    for item in failures:
        if not isinstance(item, Mapping) or "itemIdentifier" not in item:
            return [], f"batch item failure {item!r} has no itemIdentifier key"
        identifier = item["itemIdentifier"]
        if identifier is None or not str(identifier).strip():
            return [], "a batch item failure has a null or empty itemIdentifier"
        identifiers.append(str(identifier))
    return identifiers, None


def _sequence_key(value: str) -> tuple[int, int | str]:
    # Sequence numbers are decimal strings of varying length: compare as numbers.
    return (0, int(value)) if value.isdigit() else (1, value)
