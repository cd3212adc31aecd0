import private_lib


def handler(event, context):
    return {"version": private_lib.VERSION}
