"""An SQS event source mapping in miniature: receive a batch from a queue of
the backend, invoke the function with the event Lambda would build, delete
what succeeded and leave the rest to come back after the visibility timeout."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .batch import BatchResult, batch_result

if TYPE_CHECKING:
    from .._runtime.function import LambdaFunction
    from .backend import AwsBackend

MAX_BATCH = 10  # what one ReceiveMessage returns; Lambda's larger batches need a batching window


class SqsEventSource:
    """`poll()` runs one batch and returns its `BatchResult` (None when the
    queue had nothing visible); `drain()` polls until the queue is empty."""

    def __init__(
        self,
        backend: AwsBackend,
        function: LambdaFunction,
        queue_url: str,
        *,
        batch_size: int = MAX_BATCH,
        report_batch_item_failures: bool = True,
    ) -> None:
        if not isinstance(batch_size, int) or not 1 <= batch_size <= MAX_BATCH:
            raise ConfigError(f"invalid batch size {batch_size!r}: use 1 to {MAX_BATCH}")
        self.backend = backend
        self.function = function
        self.queue_url = queue_url
        self.batch_size = batch_size
        self.report_batch_item_failures = report_batch_item_failures
        self._sqs = backend.client("sqs")
        self._arn: str | None = None

    @property
    def queue_arn(self) -> str:
        if self._arn is None:
            attributes = self._sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
            self._arn = attributes["Attributes"]["QueueArn"]
        return self._arn

    def poll(self) -> BatchResult | None:
        answer = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=self.batch_size,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
            WaitTimeSeconds=0,
        )
        messages = answer.get("Messages") or []
        if not messages:
            return None
        event = {"Records": [self.record(message) for message in messages]}
        invocation = self.function.invoke(event)
        result = batch_result(event, invocation, report_batch_item_failures=self.report_batch_item_failures)
        if result.succeeded:
            self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": r["receiptHandle"]} for i, r in enumerate(result.succeeded)],
            )
        return result

    def drain(self, max_batches: int = 100) -> list[BatchResult]:
        """Poll until a receive finds nothing visible (failed messages stay
        invisible for the queue's visibility timeout, as on Lambda)."""
        results = []
        for _ in range(max_batches):
            result = self.poll()
            if result is None:
                break
            results.append(result)
        return results

    def record(self, message: Mapping[str, Any]) -> dict[str, Any]:
        """The event record Lambda builds from a received message."""
        attributes = dict(message.get("Attributes") or {})
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": attributes,
            "messageAttributes": {
                name: _message_attribute(value) for name, value in (message.get("MessageAttributes") or {}).items()
            },
            "md5OfBody": message.get("MD5OfBody") or hashlib.md5(message["Body"].encode()).hexdigest(),
            **(
                {"md5OfMessageAttributes": message["MD5OfMessageAttributes"]}
                if message.get("MD5OfMessageAttributes")
                else {}
            ),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": self.backend.region,
        }


def _message_attribute(value: Mapping[str, Any]) -> dict[str, Any]:
    # The SDK's StringValue/BinaryValue become the event's camel-case fields, binary as base64.
    item: dict[str, Any] = {}
    if "StringValue" in value:
        item["stringValue"] = value["StringValue"]
    if "BinaryValue" in value:
        item["binaryValue"] = base64.b64encode(value["BinaryValue"]).decode()
    item["stringListValues"] = list(value.get("StringListValues") or [])
    item["binaryListValues"] = [base64.b64encode(v).decode() for v in value.get("BinaryListValues") or []]
    item["dataType"] = value.get("DataType", "String")
    return item
