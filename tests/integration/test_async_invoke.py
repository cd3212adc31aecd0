"""Lambda's Event invocation type on a real function (python-fn): 202 at
once, two retries after a function error, destination records."""

from __future__ import annotations

import json

import pytest

from pytest_lambda_image import InvokeError, RequestEntityTooLarge, invoke_async


def test_a_success_is_handed_to_the_on_success_destination(python_image, lambda_function_factory):
    function = lambda_function_factory(python_image, function_name="async-echo", region="eu-west-1")
    records: list[dict] = []

    failures: list[dict] = []
    handle = invoke_async(function, {"n": 1}, on_success=records.append, on_failure=failures.append)
    assert handle.status_code == 202

    handle.wait()
    assert handle.ok and handle.condition == "Success" and len(handle.attempts) == 1, handle.attempts[0].text
    assert failures == []
    (record,) = records
    assert record["version"] == "1.0" and record["timestamp"].endswith("Z")
    assert record["requestContext"] == {
        "requestId": handle.attempts[0].request_id,
        "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:async-echo:$LATEST",
        "condition": "Success",
        "approximateInvokeCount": 1,
    }
    assert record["requestPayload"] == {"n": 1}
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST"}
    assert record["responsePayload"]["event"] == {"n": 1}


def test_a_failing_function_is_tried_three_times_then_lands_in_on_failure(python_image, lambda_function_factory):
    function = lambda_function_factory(python_image, handler="handlers.fail")
    failures: list[dict] = []

    handle = invoke_async(function, {"why": "declined"}, on_failure=failures.append, retry_delay=0.1).wait()

    assert not handle.ok and handle.condition == "RetriesExhausted"
    assert [a.error_type for a in handle.attempts] == ["ValueError"] * 3
    assert len({a.request_id for a in handle.attempts}) == 3  # each attempt is an invoke of its own
    (record,) = failures
    assert record["requestContext"]["condition"] == "RetriesExhausted"
    assert record["requestContext"]["approximateInvokeCount"] == 3
    assert record["responseContext"] == {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"}
    assert record["responsePayload"]["errorType"] == "ValueError"


def test_destinations_can_be_queues_of_the_aws_backend(python_image, lambda_function_factory, lambda_aws):
    sqs = lambda_aws.client("sqs")
    queue = sqs.create_queue(QueueName="async-failures")["QueueUrl"]
    function = lambda_function_factory(python_image, handler="handlers.fail")

    invoke_async(function, {}, retries=0, on_failure=lambda_aws.sqs_destination(queue)).wait()

    (message,) = sqs.receive_message(QueueUrl=queue)["Messages"]
    record = json.loads(message["Body"])
    assert record["requestContext"]["approximateInvokeCount"] == 1


def test_a_destination_that_raises_is_reported_by_wait(python_image, lambda_function_factory):
    function = lambda_function_factory(python_image)

    def broken(record):
        raise ConnectionError("queue unreachable")

    handle = invoke_async(function, {}, on_success=broken)
    with pytest.raises(InvokeError, match="Success destination raised ConnectionError: queue unreachable"):
        handle.wait()
    assert handle.ok and handle.record is not None


def test_async_limits(python_image, lambda_function_factory):
    function = lambda_function_factory(python_image)
    with pytest.raises(RequestEntityTooLarge, match="1,048,576"):
        invoke_async(function, payload=b"x" * (1024 * 1024 + 1))
    with pytest.raises(InvokeError, match="0 to 2 times"):
        invoke_async(function, {}, retries=3)
