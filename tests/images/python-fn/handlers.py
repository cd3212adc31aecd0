import json
import os
import threading
import time

WARM = {"invocations": 0}
print("handlers module initialised")


def echo(event, context):
    WARM["invocations"] += 1
    print(f"echo invoked with {json.dumps(event)}")
    return {
        "event": event,
        "request_id": context.aws_request_id,
        "function_name": context.function_name,
        "memory_limit_in_mb": int(context.memory_limit_in_mb),
        "remaining_ms": context.get_remaining_time_in_millis(),
        "client_context": getattr(context.client_context, "custom", None),
        "env": dict(os.environ),
        "warm_invocations": WARM["invocations"],
        "thread": threading.get_ident(),
    }


def variant(event, context):
    return "variant"


def fail(event, context):
    print("about to fail")
    raise ValueError(f"boom: {event.get('why', 'no reason')}")


def sleep(event, context):
    time.sleep(float(event.get("seconds", 10)))
    return "woke up"


def crash(event, context):
    print("crashing now")
    os._exit(3)


def big(event, context):
    return "x" * int(event["size"])


def chatty(event, context):
    for line in event.get("lines", []):
        print(line)
    return len(event.get("lines", []))


def slow_echo(event, context):
    time.sleep(0.05)
    return event
