"""SQS consumer: marks each order in a batch as shipped and reports the
messages it could not handle (ReportBatchItemFailures), so only those return
to the queue."""

import json
import os

import boto3

table = boto3.resource("dynamodb").Table(os.environ["TABLE_NAME"])


def handler(event, context):
    failures = []
    for record in event["Records"]:
        try:
            order_id = json.loads(record["body"])["orderId"]
            table.update_item(
                Key={"orderId": order_id},
                UpdateExpression="SET #s = :shipped",
                ConditionExpression="attribute_exists(orderId)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={":shipped": "shipped"},
            )
        except Exception as exc:  # noqa: BLE001 (one bad message must not fail the others)
            print(f"message {record['messageId']} failed: {exc!r}")
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
