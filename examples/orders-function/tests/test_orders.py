"""The orders service against moto's server: the function's boto3 talks to
the same backend the tests seed and read, through AWS_ENDPOINT_URL."""

import json
from decimal import Decimal

import pytest
import requests

from pytest_lambda_image import events

QUEUE = "order-events"


@pytest.fixture
def resources(lambda_aws):
    """The table, bucket and queue the function expects (moto starts empty for each test)."""
    lambda_aws.client("dynamodb").create_table(
        TableName="orders",
        KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    lambda_aws.client("s3").create_bucket(Bucket="order-receipts")
    return lambda_aws.client("sqs").create_queue(QueueName=QUEUE, Attributes={"VisibilityTimeout": "30"})["QueueUrl"]


def place(lambda_gateway_url, customer="ana", items=({"sku": "tea", "price": "4.50", "quantity": 2},)):
    return requests.post(f"{lambda_gateway_url}/orders", json={"customer": customer, "items": list(items)}, timeout=30)


def test_an_order_is_stored_with_its_receipt_and_event(resources, lambda_gateway_url, lambda_aws):
    answer = place(lambda_gateway_url)
    assert answer.status_code == 201, answer.text
    order_id = answer.json()["orderId"]

    item = lambda_aws.client("dynamodb").get_item(TableName="orders", Key={"orderId": {"S": order_id}})["Item"]
    assert item["customer"] == {"S": "ana"} and item["status"] == {"S": "placed"}
    assert Decimal(item["total"]["N"]) == 9

    receipt = lambda_aws.client("s3").get_object(Bucket="order-receipts", Key=f"receipts/{order_id}.json")
    assert json.loads(receipt["Body"].read()) == {"orderId": order_id, "customer": "ana", "total": "9.00"}

    messages = lambda_aws.client("sqs").receive_message(
        QueueUrl=resources, MessageAttributeNames=["All"], MaxNumberOfMessages=10
    )["Messages"]
    assert [json.loads(m["Body"]) for m in messages] == [{"orderId": order_id, "event": "placed"}]
    assert messages[0]["MessageAttributes"]["customer"]["StringValue"] == "ana"


def test_an_order_can_be_read_back(resources, lambda_gateway_url):
    order_id = place(lambda_gateway_url, customer="bo").json()["orderId"]
    answer = requests.get(f"{lambda_gateway_url}/orders/{order_id}", timeout=30)
    assert answer.status_code == 200 and answer.json()["customer"] == "bo"
    assert requests.get(f"{lambda_gateway_url}/orders/nope", timeout=30).status_code == 404


def test_each_test_starts_with_an_empty_backend(lambda_aws):
    # The tests above created a table, a bucket and a queue: they are gone.
    assert lambda_aws.client("dynamodb").list_tables()["TableNames"] == []
    assert lambda_aws.client("s3").list_buckets()["Buckets"] == []


def test_without_the_table_the_function_fails_as_on_aws(lambda_function):
    result = lambda_function.invoke(events.apigw_http("POST", "/orders", json_body={"customer": "c", "items": []}))
    assert not result.ok
    assert result.error_type == "ResourceNotFoundException"


@pytest.mark.lambda_function(template_function="OrdersConsumer")
def test_the_consumer_ships_orders_and_returns_only_bad_messages(resources, lambda_function, lambda_aws):
    table = lambda_aws.resource("dynamodb").Table("orders")
    table.put_item(Item={"orderId": "o-1", "status": "placed"})
    table.put_item(Item={"orderId": "o-2", "status": "placed"})
    sqs = lambda_aws.client("sqs")
    for body in ({"orderId": "o-1"}, {"orderId": "missing"}, "not json", {"orderId": "o-2"}):
        sqs.send_message(QueueUrl=resources, MessageBody=json.dumps(body) if isinstance(body, dict) else body)

    source = lambda_aws.sqs_event_source(lambda_function, resources, batch_size=10)
    result = source.poll()

    assert result.invocation.ok
    assert len(result.succeeded) == 2 and len(result.retried) == 2 and not result.complete_failure
    assert sorted(json.loads(r["body"]).get("orderId", "") for r in result.succeeded) == ["o-1", "o-2"]
    assert table.get_item(Key={"orderId": "o-1"})["Item"]["status"] == "shipped"
    # Successes were deleted; the failures stay in flight until their visibility timeout ends.
    attributes = sqs.get_queue_attributes(QueueUrl=resources, AttributeNames=["All"])["Attributes"]
    assert attributes["ApproximateNumberOfMessages"] == "0"
    assert attributes["ApproximateNumberOfMessagesNotVisible"] == "2"
