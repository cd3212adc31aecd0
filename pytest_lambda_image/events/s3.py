"""Amazon S3 event notifications."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote_plus

from ._common import REGION, apply_overrides, iso_time, now, short_id


def s3_record(
    key: str,
    *,
    bucket: str = "my-bucket",
    event_name: str = "ObjectCreated:Put",
    size: int = 1024,
    version_id: str | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One S3 record. The object key is URL-encoded (spaces as `+`), as S3 sends it."""
    deleted = event_name.startswith("ObjectRemoved")
    obj: dict[str, Any] = {"key": quote_plus(key, safe="/"), "sequencer": secrets.token_hex(8).upper()}
    if not deleted:
        obj["size"] = size
        obj["eTag"] = hashlib.md5(key.encode()).hexdigest()
    if version_id is not None:
        obj["versionId"] = version_id
    record = {
        "eventVersion": "2.1",
        "eventSource": "aws:s3",
        "awsRegion": REGION,
        "eventTime": iso_time(now()),
        "eventName": event_name,
        "userIdentity": {"principalId": "AWS:AIDAINPONIXQXHT3IKHL2"},
        "requestParameters": {"sourceIPAddress": "203.0.113.10"},
        "responseElements": {"x-amz-request-id": short_id(16).upper(), "x-amz-id-2": short_id(64)},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": "lambda-trigger",
            "bucket": {
                "name": bucket,
                "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                "arn": f"arn:aws:s3:::{bucket}",
            },
            "object": obj,
        },
    }
    return apply_overrides(record, overrides)


def s3(
    keys: str | Sequence[str],
    *,
    bucket: str = "my-bucket",
    event_name: str = "ObjectCreated:Put",
    size: int = 1024,
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An S3 notification with a record per key."""
    items = [keys] if isinstance(keys, str) else list(keys)
    records = [s3_record(key, bucket=bucket, event_name=event_name, size=size) for key in items]
    return apply_overrides({"Records": records}, overrides)


def s3_put(keys: str | Sequence[str], **kwargs: Any) -> dict[str, Any]:
    return s3(keys, event_name="ObjectCreated:Put", **kwargs)


def s3_delete(keys: str | Sequence[str], **kwargs: Any) -> dict[str, Any]:
    return s3(keys, event_name="ObjectRemoved:Delete", **kwargs)
