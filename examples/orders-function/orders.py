"""HTTP API (payload 2.0) handler: POST /orders stores an order in DynamoDB,
its receipt in S3 and an "order placed" message in SQS; GET /orders/{id}
reads it back."""

import json
import os
import uuid
from decimal import Decimal

import boto3

# Clients made once per execution environment, as Lambda functions do. Their
# endpoints come from the environment: AWS on Lambda, the test backend locally.
dynamodb = boto3.resource("dynamodb")
s3 = boto3.client("s3")
sqs = boto3.client("sqs")
table = dynamodb.Table(os.environ["TABLE_NAME"])


def handler(event, context):
    method = event["requestContext"]["http"]["method"]
    if method == "POST" and event["rawPath"] == "/orders":
        return place_order(event)
    if method == "GET" and event.get("pathParameters", {}).get("id"):
        return get_order(event["pathParameters"]["id"])
    return answer(404, {"message": "Not Found"})


def place_order(event):
    try:
        order = json.loads(event.get("body") or "", parse_float=Decimal)
        items = order["items"]
        customer = order["customer"]
    except (ValueError, KeyError, TypeError):
        return answer(400, {"message": "give a JSON body with customer and items"})
    order_id = uuid.uuid4().hex
    total = sum(Decimal(str(item["price"])) * int(item.get("quantity", 1)) for item in items)
    table.put_item(
        Item={"orderId": order_id, "customer": customer, "items": items, "total": total, "status": "placed"}
    )
    s3.put_object(
        Bucket=os.environ["BUCKET_NAME"],
        Key=f"receipts/{order_id}.json",
        Body=json.dumps({"orderId": order_id, "customer": customer, "total": str(total)}).encode(),
        ContentType="application/json",
    )
    sqs.send_message(
        QueueUrl=os.environ["QUEUE_URL"],
        MessageBody=json.dumps({"orderId": order_id, "event": "placed"}),
        MessageAttributes={"customer": {"DataType": "String", "StringValue": customer}},
    )
    return answer(201, {"orderId": order_id, "total": str(total)})


def get_order(order_id):
    item = table.get_item(Key={"orderId": order_id}).get("Item")
    if item is None:
        return answer(404, {"message": f"no order {order_id}"})
    return answer(200, item)


def answer(status, body):
    return {
        "statusCode": status,
        "headers": {"content-type": "application/json"},
        "body": json.dumps(body, default=str),
    }
