"""A small items API behind an HTTP API (payload format 2.0)."""

import base64
import json

ITEMS = {"42": {"id": "42", "name": "towel"}}
# A 1x1 transparent PNG: a binary response.
PIXEL = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")


def handler(event, context):
    route = event["routeKey"]
    if route == "GET /items/{id}":
        item = ITEMS.get(event["pathParameters"]["id"])
        if item is None:
            return {"statusCode": 404, "body": json.dumps({"error": "no such item"})}
        return item  # a bare JSON return: HTTP APIs answer 200 application/json
    if route == "POST /items":
        body = event.get("body") or ""
        if event.get("isBase64Encoded"):
            body = base64.b64decode(body).decode()
        item = json.loads(body)
        ITEMS[item["id"]] = item
        return {
            "statusCode": 201,
            "headers": {"location": f"/items/{item['id']}", "content-type": "application/json"},
            "cookies": ["last-item=" + item["id"] + "; Path=/", "session=abc; HttpOnly"],
            "body": json.dumps(item),
        }
    if route == "GET /search":
        tags = (event.get("queryStringParameters") or {}).get("tag", "")
        return {"tags": tags.split(",") if tags else [], "cookies": event.get("cookies", [])}
    if route == "GET /pixel.png":
        return {
            "statusCode": 200,
            "headers": {"content-type": "image/png"},
            "body": base64.b64encode(PIXEL).decode(),
            "isBase64Encoded": True,
        }
    if route == "GET /broken":
        return {"statusCode": "two hundred"}
    raise RuntimeError(f"no handler for {route}")
