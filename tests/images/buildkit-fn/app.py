import os


def handler(event, context):
    with open(os.path.join(os.environ["LAMBDA_TASK_ROOT"], "token-length")) as f:
        length = int(f.read())
    return {"token_length": length, "debug": os.environ.get("DEBUG")}
