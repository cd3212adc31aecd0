"""Lambda's Event invocation type on a real function (python-fn): 202 at
once, two retries after a function error, destination records."""

from __future__ import annotations

import json
import time

import pytest

from pytest_lambda_image import InvokeError, LambdaDestination, RequestEntityTooLarge, configure_async, invoke_async


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
        "requestId": handle.request_id,
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


def test_retries_keep_the_events_request_id(python_image, lambda_function_factory):
    """Lambda retries an async event under its request id: the runtime gets
    the same id on every attempt, and each attempt still has its own log."""
    function = lambda_function_factory(python_image, handler="handlers.fail")
    failures: list[dict] = []

    handle = invoke_async(function, {"why": "again"}, on_failure=failures.append).wait()

    assert [a.request_id for a in handle.attempts] == [handle.request_id] * 3  # what the function saw
    assert failures[0]["requestContext"]["requestId"] == handle.request_id
    assert [sum("about to fail" in line for line in a.logs) for a in handle.attempts] == [1, 1, 1]
    assert all(a.report is not None for a in handle.attempts)


def test_an_event_older_than_its_maximum_age_is_not_retried(python_image, lambda_function_factory):
    """Lambda waits about a minute before the first retry: an event of at most
    60 s gets no retry, whatever the local retry_delay."""
    function = lambda_function_factory(python_image, handler="handlers.fail")
    failures: list[dict] = []

    handle = invoke_async(function, {}, max_event_age=60, on_failure=failures.append).wait()

    assert handle.condition == "EventAgeExceeded" and len(handle.attempts) == 1
    assert failures[0]["requestContext"]["condition"] == "EventAgeExceeded"
    assert failures[0]["requestContext"]["approximateInvokeCount"] == 1
    assert len(invoke_async(function, {}, max_event_age=200).wait().attempts) == 3  # 60 + 120 s of waits fit


def test_a_failed_event_goes_to_the_dead_letter_queue(python_image, lambda_function_factory, lambda_aws):
    sqs = lambda_aws.client("sqs")
    queue = sqs.create_queue(QueueName="dlq")["QueueUrl"]
    function = lambda_function_factory(python_image, handler="handlers.fail")
    dead_letter = lambda_aws.dead_letter("arn:aws:sqs:us-east-1:123456789012:dlq")

    handle = invoke_async(function, {"why": "dead"}, retries=0, dead_letter=dead_letter).wait()

    (message,) = sqs.receive_message(QueueUrl=queue, MessageAttributeNames=["All"])["Messages"]
    assert json.loads(message["Body"]) == {"why": "dead"}  # the event itself, not a record
    attributes = {name: value["StringValue"] for name, value in message["MessageAttributes"].items()}
    assert attributes == {"RequestID": handle.request_id, "ErrorCode": "200", "ErrorMessage": "boom: dead"}


def test_sns_and_eventbridge_destinations(python_image, lambda_function_factory, lambda_aws):
    sqs, sns, events = lambda_aws.client("sqs"), lambda_aws.client("sns"), lambda_aws.client("events")
    from_sns = sqs.create_queue(QueueName="from-sns")["QueueUrl"]
    from_bus = sqs.create_queue(QueueName="from-bus")["QueueUrl"]
    topic = sns.create_topic(Name="async-results")["TopicArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint="arn:aws:sqs:us-east-1:123456789012:from-sns")
    events.put_rule(Name="lambda-results", EventPattern=json.dumps({"source": ["lambda"]}))
    events.put_targets(
        Rule="lambda-results", Targets=[{"Id": "q", "Arn": "arn:aws:sqs:us-east-1:123456789012:from-bus"}]
    )
    function = lambda_function_factory(python_image, function_name="async-dest")
    on_success = lambda_aws.destination(topic)
    on_failure = lambda_aws.destination("arn:aws:events:us-east-1:123456789012:event-bus/default")

    handle = invoke_async(function, {"n": 2}, on_success=on_success).wait()
    failing = lambda_function_factory(python_image, handler="handlers.fail", function_name="async-fail")
    failed = invoke_async(failing, {}, retries=0, on_failure=on_failure).wait()

    (message,) = sqs.receive_message(QueueUrl=from_sns)["Messages"]
    record = json.loads(json.loads(message["Body"])["Message"])  # SNS's envelope around the record
    assert record["requestContext"]["requestId"] == handle.request_id and record["requestPayload"] == {"n": 2}
    (message,) = sqs.receive_message(QueueUrl=from_bus)["Messages"]
    event = json.loads(message["Body"])
    assert event["source"] == "lambda" and event["detail-type"] == "Lambda Function Invocation Result - Failure"
    assert event["detail"]["requestContext"]["requestId"] == failed.request_id
    assert event["resources"] == ["arn:aws:lambda:us-east-1:123456789012:function:async-fail:$LATEST"]


def test_a_function_as_the_destination_gets_the_record_as_its_event(python_image, lambda_function_factory):
    function = lambda_function_factory(python_image, handler="handlers.fail")
    receiver = LambdaDestination(lambda_function_factory(python_image))

    handle = invoke_async(function, {"why": "forward"}, retries=0, on_failure=receiver).wait()

    (delivered,) = receiver.invocations
    assert delivered.wait().ok
    event = delivered.attempts[0].json()["event"]
    assert event["requestContext"]["requestId"] == handle.request_id
    assert event["responsePayload"]["errorMessage"] == "boom: forward"


def test_a_functions_own_async_settings_apply(python_image, lambda_function_factory):
    function = lambda_function_factory(python_image, handler="handlers.fail")
    failures: list[dict] = []
    configure_async(function, maximum_retry_attempts=1, on_failure=failures.append)

    handle = invoke_async(function, {}).wait()

    assert len(handle.attempts) == 2 and failures[0]["requestContext"]["approximateInvokeCount"] == 2


def test_an_event_whose_container_is_removed_fails_in_one_line(python_image, lambda_function_factory):
    function = lambda_function_factory(python_image, handler="handlers.sleep")
    handle = invoke_async(function, {"seconds": 5})
    time.sleep(0.5)
    function.stop()

    with pytest.raises(InvokeError) as failure:
        handle.wait()
    message = str(failure.value)
    assert message == (
        f"the async event {handle.request_id} failed on attempt 1: python-fn: the function was stopped while "
        "this invoke ran (its container was removed)"
    )
    assert failure.value.__cause__ is None and failure.value.__context__ is None
