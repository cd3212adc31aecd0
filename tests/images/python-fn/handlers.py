import json
import os
import threading
import time

WARM = {"invocations": 0}
time.sleep(float(os.environ.get("INIT_SLEEP_S") or 0))  # a slow init, for the init phase's own budget
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


def raw_echo(event, context):
    return event


def proxy(event, context):
    """Answers an API Gateway / ALB event with what it received, in the
    proxy response shape; some paths misbehave on purpose."""
    import base64 as b64

    path = event.get("rawPath") or event.get("path") or "/"
    body = event.get("body") or ""
    raw = b64.b64decode(body) if event.get("isBase64Encoded") else body.encode()
    if path.endswith("/fail"):
        raise RuntimeError("failing on purpose")
    if path.endswith("/broken"):
        return {"statusCode": "not a number"}
    if path.endswith("/binary"):
        return {
            "statusCode": 200,
            "headers": {"Content-Type": "application/octet-stream"},
            "body": b64.b64encode(raw[::-1]).decode(),
            "isBase64Encoded": True,
        }
    summary = {
        "method": event.get("httpMethod") or event["requestContext"]["http"]["method"],
        "path": path,
        "route": event.get("routeKey") or event.get("resource"),
        "pathParameters": event.get("pathParameters"),
        "query": event.get("multiValueQueryStringParameters") or event.get("queryStringParameters"),
        "cookies": event.get("cookies"),
        "body": raw.decode("utf-8", "replace"),
        "isBase64Encoded": event.get("isBase64Encoded"),
    }
    response = {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(summary)}
    if event.get("version") == "2.0":
        response["cookies"] = ["a=1; Path=/", "b=2; HttpOnly"]
    else:
        response["multiValueHeaders"] = {"Set-Cookie": ["a=1; Path=/", "b=2; HttpOnly"]}
    return response


def probe(event, context):
    """What the sandbox allows: who we are, where we may write, how big /tmp is."""
    writes = {}
    for path in event.get("write", []):
        try:
            with open(path, "w") as f:
                f.write("x")
            writes[path] = "ok"
        except OSError as exc:
            writes[path] = exc.strerror
    tmp = os.statvfs("/tmp")
    shm = "ok"
    try:
        import multiprocessing

        multiprocessing.Lock()
    except OSError as exc:
        shm = exc.strerror
    return {
        "uid": os.getuid(),
        "gid": os.getgid(),
        "writes": writes,
        "tmp_mb": tmp.f_blocks * tmp.f_frsize // (1024 * 1024),
        "multiprocessing_lock": shm,
    }


def allocate(event, context):
    block = bytearray(int(event["mb"]) * 1024 * 1024)
    for i in range(0, len(block), 4096):
        block[i] = 1  # touch every page: untouched pages cost no memory
    return len(block) // (1024 * 1024)


def log_levels(event, context):
    import logging

    logger = logging.getLogger("orders")
    logger.debug("debug detail")
    logger.info("order stored", extra={"order_id": event.get("order_id")})
    logger.warning("stock low")
    return "logged"


def batch_failures(event, context):
    """A consumer with ReportBatchItemFailures: reports the records whose
    payload is "fail" (SQS body, Kinesis data, DynamoDB NewImage's `payload`)."""
    import base64 as b64

    failures = []
    for record in event["Records"]:
        if "dynamodb" in record:
            payload = record["dynamodb"].get("NewImage", {}).get("payload", {}).get("S")
            identifier = record["dynamodb"]["SequenceNumber"]
        elif "kinesis" in record:
            payload = b64.b64decode(record["kinesis"]["data"]).decode()
            identifier = record["kinesis"]["sequenceNumber"]
        else:
            payload, identifier = record["body"], record["messageId"]
        if payload == "fail":
            failures.append({"itemIdentifier": identifier})
    return {"batchItemFailures": failures}


def write_tmp(event, context):
    """Write `mb` MB to /tmp in `files` files, 1 MB at a time; report how far it got."""
    written = 0
    try:
        for n in range(int(event.get("files", 1))):
            with open(f"/tmp/fill-{n}", "wb") as f:
                for _ in range(int(event["mb"]) // int(event.get("files", 1))):
                    f.write(b"x" * 1024 * 1024)
                    written += 1
        return {"written_mb": written}
    except OSError as exc:
        return {"written_mb": written, "errno": exc.errno, "error": exc.strerror}
    finally:
        for name in os.listdir("/tmp"):
            if name.startswith("fill-"):
                os.remove(f"/tmp/{name}")


def open_files(event, context):
    """Hold `n` open files at once (on Lambda at most 1,024 descriptors)."""
    held = []
    try:
        for _ in range(int(event["n"])):
            held.append(open("/dev/null"))
        return {"opened": len(held)}
    except OSError as exc:
        return {"opened": len(held), "errno": exc.errno, "error": exc.strerror}
    finally:
        for f in held:
            f.close()


def start_threads(event, context):
    """Run `n` threads at once (on Lambda at most 1,024 processes and threads)."""
    release = threading.Event()
    threads = []
    try:
        for _ in range(int(event["n"])):
            thread = threading.Thread(target=release.wait)
            thread.start()
            threads.append(thread)
        return {"started": len(threads)}
    except RuntimeError as exc:
        return {"started": len(threads), "error": str(exc)}
    finally:
        release.set()
        for thread in threads:
            thread.join()


def burn_cpu(event, context):
    """Spend `cpu_s` seconds of CPU time (not wall time)."""
    end = time.process_time() + float(event["cpu_s"])
    spins = 0
    while time.process_time() < end:
        spins += 1
    return {"spins": spins}
