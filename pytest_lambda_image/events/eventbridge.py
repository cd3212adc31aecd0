"""Amazon EventBridge events: custom events and scheduled rules."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ._common import ACCOUNT_ID, REGION, apply_overrides, iso_time, now, request_id


def eventbridge(
    detail: Mapping[str, Any] | None = None,
    *,
    detail_type: str = "Custom Event",
    source: str = "com.example.app",
    resources: Sequence[str] = (),
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An EventBridge event as a rule target receives it."""
    event = {
        "version": "0",
        "id": request_id(),
        "detail-type": detail_type,
        "source": source,
        "account": ACCOUNT_ID,
        "time": iso_time(now(), millis=False),
        "region": REGION,
        "resources": list(resources),
        "detail": dict(detail or {}),
    }
    return apply_overrides(event, overrides)


def scheduled(rule: str = "my-schedule", *, overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The event a scheduled rule (rate/cron) sends."""
    return eventbridge(
        {},
        detail_type="Scheduled Event",
        source="aws.events",
        resources=[f"arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/{rule}"],
        overrides=overrides,
    )
