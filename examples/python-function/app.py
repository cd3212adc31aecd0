"""Greets people, with the little bits of real-world behaviour worth testing."""

import json
import logging
import os

logger = logging.getLogger()
logger.setLevel(logging.INFO)

GREETING = os.environ.get("GREETING", "Hello")


class ValidationError(Exception):
    pass


def handler(event, context):
    name = event.get("name") if isinstance(event, dict) else None
    if not name:
        raise ValidationError("event needs a non-empty 'name'")
    logger.info("greeting %s", name)
    print(json.dumps({"metric": "greetings", "value": 1}))
    return {
        "message": f"{GREETING}, {name}!",
        "function": context.function_name,
        "memory_mb": int(context.memory_limit_in_mb),
        "request_id": context.aws_request_id,
    }
