import os

print("broken_init importing")
if os.environ.get("BREAK") == "raise":
    raise RuntimeError("init failed on purpose")
if os.environ.get("BREAK") == "exit":
    os._exit(4)


def handler(event, context):
    return "initialised fine"
