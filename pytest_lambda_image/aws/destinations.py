"""Where Lambda sends an async event's outcome, in the backend: SQS, SNS and
EventBridge destinations (the invocation record), SQS and SNS dead-letter
queues (the event itself). Each wraps what it sends as Lambda does."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    from .backend import AwsBackend

# EventBridge destinations: the event's detail-type says how the invoke ended.
DETAIL_TYPES = {
    True: "Lambda Function Invocation Result - Success",
    False: "Lambda Function Invocation Result - Failure",
}


def parse_arn(arn: str, what: str) -> tuple[str, str, str, str]:
    """(service, region, account, resource) of an ARN."""
    parts = str(arn).split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise ConfigError(f"invalid {what} {arn!r}: give an ARN such as arn:aws:sqs:us-east-1:123456789012:queue")
    return parts[2], parts[3], parts[4], parts[5]


def destination(backend: AwsBackend, arn: str, create: bool = False) -> Callable[[dict[str, Any]], None]:
    service, _, account, resource = parse_arn(arn, "destination")
    if service == "sqs":
        sqs = backend.client("sqs")
        return lambda record: sqs.send_message(
            QueueUrl=_queue_url(sqs, resource, account, create), MessageBody=json.dumps(record)
        )
    if service == "sns":
        sns = backend.client("sns")
        return lambda record: sns.publish(TopicArn=_topic(sns, arn, resource, create), Message=json.dumps(record))
    if service == "events":
        events = backend.client("events")
        return lambda record: _put_event(events, resource, record, create)
    if service == "lambda":
        raise ConfigError(
            f"destination {arn} is a function: pass LambdaDestination(function) (from pytest_lambda_image) instead"
        )
    raise ConfigError(f"destination {arn}: Lambda sends an async invoke's outcome to SQS, SNS, EventBridge or Lambda")


def dead_letter(backend: AwsBackend, arn: str, create: bool = False) -> Callable[[Mapping[str, Any]], None]:
    service, _, account, resource = parse_arn(arn, "dead-letter queue")
    if service == "sqs":
        sqs = backend.client("sqs")
        return lambda message: sqs.send_message(
            QueueUrl=_queue_url(sqs, resource, account, create),
            MessageBody=message["body"],
            MessageAttributes=_attributes(message),
        )
    if service == "sns":
        sns = backend.client("sns")
        return lambda message: sns.publish(
            TopicArn=_topic(sns, arn, resource, create), Message=message["body"], MessageAttributes=_attributes(message)
        )
    raise ConfigError(f"dead-letter queue {arn}: Lambda's dead-letter queue is an SQS queue or an SNS topic")


def _queue_url(sqs: Any, name: str, account: str, create: bool) -> str:
    """The queue's URL; with `create`, the queue is made first when missing
    (a template's queue, which a deployed stack would have)."""
    if create:
        return str(sqs.create_queue(QueueName=name)["QueueUrl"])  # the existing one's URL when it is there
    return str(sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])


def _topic(sns: Any, arn: str, name: str, create: bool) -> str:
    return str(sns.create_topic(Name=name)["TopicArn"]) if create else arn


def _put_event(events: Any, resource: str, record: Mapping[str, Any], create: bool = False) -> None:
    bus = resource.split("/", 1)[1] if resource.startswith("event-bus/") else resource
    if create and bus != "default" and not any(b["Name"] == bus for b in events.list_event_buses()["EventBuses"]):
        events.create_event_bus(Name=bus)
    context = record.get("requestContext") or {}
    entry = {
        "Source": "lambda",
        "DetailType": DETAIL_TYPES[context.get("condition") == "Success"],
        "Detail": json.dumps(record),
        "EventBusName": bus,
        "Resources": [str(context.get("functionArn", ""))],
    }
    answer = events.put_events(Entries=[entry])
    if answer.get("FailedEntryCount"):
        raise ConfigError(f"EventBridge refused the record on bus {bus}: {answer.get('Entries')}")


def _attributes(message: Mapping[str, Any]) -> dict[str, Any]:
    """Lambda's dead-letter message attributes (ErrorCode is a Number)."""
    attributes = message.get("attributes") or {}
    return {
        name: {"DataType": "Number" if name == "ErrorCode" else "String", "StringValue": str(value)}
        for name, value in attributes.items()
    }
