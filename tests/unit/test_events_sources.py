"""Non-HTTP event factories: batches, encodings, every one schema-valid."""

import base64
import hashlib
import json
from decimal import Decimal

import pytest

from pytest_lambda_image import events


def test_sqs_batch():
    event = events.sqs(["plain text", {"order": 1}, events.sqs_message("x", message_attributes={"n": 3, "b": b"\x01"})])
    events.validate(event, "sqs")
    bodies = [r["body"] for r in event["Records"]]
    assert bodies == ["plain text", '{"order": 1}', "x"]
    assert len({r["messageId"] for r in event["Records"]}) == 3
    attributes = event["Records"][2]["messageAttributes"]
    assert attributes["n"] == {"stringValue": "3", "stringListValues": [], "binaryListValues": [], "dataType": "Number"}
    assert attributes["b"]["dataType"] == "Binary"
    assert event["Records"][0]["eventSourceARN"] == "arn:aws:sqs:us-east-1:123456789012:my-queue"


def test_sqs_fifo():
    record = events.sqs("m", queue="orders.fifo")["Records"][0]
    assert {"MessageGroupId", "SequenceNumber", "MessageDeduplicationId"} <= set(record["attributes"])


def test_sns():
    event = events.sns({"alert": True}, topic="alerts", subject="Alarm", message_attributes={"level": "high"})
    events.validate(event, "sns")
    sns = event["Records"][0]["Sns"]
    assert json.loads(sns["Message"]) == {"alert": True}
    assert sns["TopicArn"].endswith(":alerts") and sns["Subject"] == "Alarm"
    assert sns["MessageAttributes"]["level"] == {"Type": "String", "Value": "high"}


def test_s3_put_and_delete():
    put = events.s3_put(["photos/a b.jpg", "c.txt"], bucket="media", size=2048)
    events.validate(put, "s3")
    first = put["Records"][0]["s3"]
    assert first["object"]["key"] == "photos/a+b.jpg"  # URL-encoded, as S3 sends it
    assert first["object"]["size"] == 2048 and first["bucket"]["arn"] == "arn:aws:s3:::media"
    assert put["Records"][0]["eventName"] == "ObjectCreated:Put"

    deleted = events.s3_delete("c.txt")
    events.validate(deleted, "s3")
    assert deleted["Records"][0]["eventName"] == "ObjectRemoved:Delete"
    assert "size" not in deleted["Records"][0]["s3"]["object"]


def test_eventbridge_custom_and_scheduled():
    custom = events.eventbridge({"orderId": 7}, detail_type="Order Placed", source="shop.orders")
    events.validate(custom, "eventbridge")
    assert custom["detail"] == {"orderId": 7} and custom["detail-type"] == "Order Placed"
    schedule = events.scheduled("nightly")
    events.validate(schedule, "eventbridge")
    assert schedule["source"] == "aws.events" and schedule["detail-type"] == "Scheduled Event"
    assert schedule["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/nightly"]


def test_dynamodb_attribute_values():
    assert events.to_attribute_value("s") == {"S": "s"}
    assert events.to_attribute_value(3) == {"N": "3"}
    assert events.to_attribute_value(Decimal("1.50")) == {"N": "1.50"}
    assert events.to_attribute_value(True) == {"BOOL": True}
    assert events.to_attribute_value(None) == {"NULL": True}
    assert events.to_attribute_value(b"\x01") == {"B": "AQ=="}
    assert events.to_attribute_value({"b", "a"}) == {"SS": ["a", "b"]}
    assert events.to_attribute_value({2, 1}) == {"NS": ["1", "2"]}
    assert events.to_attribute_value([1, {"k": "v"}]) == {"L": [{"N": "1"}, {"M": {"k": {"S": "v"}}}]}
    with pytest.raises(TypeError):
        events.to_attribute_value({1, "a"})
    with pytest.raises(TypeError):
        events.to_attribute_value(object())
    with pytest.raises(TypeError, match="no empty sets"):
        events.to_attribute_value(set())
    with pytest.raises(TypeError, match="finite"):
        events.to_attribute_value(float("nan"))


def test_dynamodb_stream_images_follow_the_event_name():
    stream = events.dynamodb_stream(
        [
            events.dynamodb_record("INSERT", keys={"pk": "u1"}, new_image={"pk": "u1", "n": 1}),
            events.dynamodb_record("MODIFY", keys={"pk": "u1"}, new_image={"n": 2}, old_image={"n": 1}),
            events.dynamodb_record("REMOVE", keys={"pk": "u1"}, new_image={"n": 9}, old_image={"n": 2}),
            events.dynamodb_record("MODIFY", keys={"pk": "u1"}, new_image={"n": 3}, view_type="KEYS_ONLY"),
        ]
    )
    events.validate(stream, "dynamodb-stream")
    insert, modify, remove, keys_only = (r["dynamodb"] for r in stream["Records"])
    assert "NewImage" in insert and "OldImage" not in insert
    assert modify["NewImage"] == {"n": {"N": "2"}} and modify["OldImage"] == {"n": {"N": "1"}}
    assert "NewImage" not in remove and remove["OldImage"] == {"n": {"N": "2"}}
    assert "NewImage" not in keys_only and "OldImage" not in keys_only
    with pytest.raises(ValueError, match="INSERT, MODIFY or REMOVE"):
        events.dynamodb_record("UPSERT", keys={"pk": 1})


def test_kinesis_data_is_base64():
    event = events.kinesis([{"a": 1}, "text", b"\x00\xff"], stream="clicks")
    events.validate(event, "kinesis")
    decoded = [base64.b64decode(r["kinesis"]["data"]) for r in event["Records"]]
    assert decoded == [b'{"a": 1}', b"text", b"\x00\xff"]
    sequences = [int(r["kinesis"]["sequenceNumber"]) for r in event["Records"]]
    assert sequences == sorted(sequences) and len(set(sequences)) == 3


def test_overrides_on_batches():
    event = events.sqs(["a"], overrides={"Records": [{"body": "replaced"}]})
    assert event["Records"] == [{"body": "replaced"}]
    record = events.sqs_message("a", overrides={"attributes": {"ApproximateReceiveCount": "5"}})
    assert record["attributes"]["ApproximateReceiveCount"] == "5" and "SentTimestamp" in record["attributes"]


def test_validation_reports_paths():
    event = events.sqs(["a"])
    event["Records"][0]["eventSource"] = "aws:sns"
    del event["Records"][0]["body"]
    with pytest.raises(events.EventValidationError) as info:
        events.validate(event, "sqs")
    message = str(info.value)
    assert "$.Records[0]: 'body' is a required property" in message
    assert "$.Records[0].eventSource: 'aws:sqs' was expected" in message
    assert len(info.value.problems) == 2


def test_s3_event_names_without_a_subtype_are_valid():
    events.validate(events.s3("k", event_name="LifecycleTransition"), "s3")


def test_function_url_nulls_are_valid():
    event = events.function_url(overrides={"pathParameters": None, "stageVariables": None})
    event["requestContext"]["authorizer"] = None
    events.validate(event, "apigw-http")


def test_unknown_schema():
    with pytest.raises(Exception, match="no schema called 'nope'"):
        events.schema("nope")


def test_every_schema_is_a_valid_2020_12_schema():
    import jsonschema

    for name in events.schema_names():
        schema = events.schema(name)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(schema)


def test_sqs_fifo_sequence_numbers_grow_and_deduplication_ids_hash_the_body():
    first = events.sqs(["a", "b", "a"], queue="orders.fifo")["Records"]
    later = events.sqs("c", queue="orders.fifo")["Records"]
    numbers = [r["attributes"]["SequenceNumber"] for r in first + later]
    assert all(n.isdigit() and len(n) >= 20 for n in numbers)
    assert [int(n) for n in numbers] == sorted({int(n) for n in numbers})  # strictly increasing, unique
    dedup = [r["attributes"]["MessageDeduplicationId"] for r in first]
    assert dedup[0] == dedup[2] == hashlib.sha256(b"a").hexdigest() != dedup[1]
    own = events.sqs_message("a", queue="orders.fifo", deduplication_id="order-1", message_group_id="g")
    assert own["attributes"]["MessageDeduplicationId"] == "order-1"
    assert own["attributes"]["MessageGroupId"] == "g"
    assert "SequenceNumber" not in events.sqs("x")["Records"][0]["attributes"]  # standard queues: none
    events.validate({"Records": [*first, own]}, "sqs")
