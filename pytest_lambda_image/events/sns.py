"""Amazon SNS notifications delivered to Lambda."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from ._common import ACCOUNT_ID, REGION, apply_overrides, iso_time, now, request_id


def sns(
    message: Any,
    *,
    topic: str = "my-topic",
    subject: str | None = None,
    message_attributes: Mapping[str, str | int | float | bytes] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An SNS event (SNS always delivers one record). `message` is text, or
    JSON-encoded when not a str."""
    topic_arn = f"arn:aws:sns:{REGION}:{ACCOUNT_ID}:{topic}"
    subscription = request_id()
    record = {
        "EventVersion": "1.0",
        "EventSubscriptionArn": f"{topic_arn}:{subscription}",
        "EventSource": "aws:sns",
        "Sns": {
            "SignatureVersion": "1",
            "Timestamp": iso_time(now()),
            "Signature": base64.b64encode(request_id().encode() * 4).decode(),
            "SigningCertUrl": f"https://sns.{REGION}.amazonaws.com/SimpleNotificationService-0000000000000000000000.pem",
            "MessageId": request_id(),
            "Message": message if isinstance(message, str) else json.dumps(message),
            "MessageAttributes": {name: _attribute(value) for name, value in (message_attributes or {}).items()},
            "Type": "Notification",
            "UnsubscribeUrl": (
                f"https://sns.{REGION}.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={topic_arn}:{subscription}"
            ),
            "TopicArn": topic_arn,
            "Subject": subject,
        },
    }
    return apply_overrides({"Records": [record]}, overrides)


def _attribute(value: str | int | float | bytes) -> dict[str, str]:
    if isinstance(value, bytes):
        return {"Type": "Binary", "Value": base64.b64encode(value).decode()}
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return {"Type": "Number", "Value": str(value)}
    return {"Type": "String", "Value": str(value)}
