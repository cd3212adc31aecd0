"""How event source mappings read partial batch responses (aws/batch.py)."""

from __future__ import annotations

import json

import pytest

from pytest_lambda_image import events
from pytest_lambda_image._runtime.invocation import Invocation
from pytest_lambda_image.aws.batch import batch_result, record_id


@pytest.fixture
def sqs_event():
    return events.sqs(["a", "b", "c"])


@pytest.fixture
def kinesis_event():
    return events.kinesis(["r0", "r1", "r2", "r3"])


def ids(event):
    return [record_id(r) for r in event["Records"]]


def failures(*identifiers):
    return {"batchItemFailures": [{"itemIdentifier": i} for i in identifiers]}


@pytest.mark.parametrize(
    "answer",
    [None, b"", b"null", "null", {}, {"batchItemFailures": None}, {"batchItemFailures": []}, {"other": 1}],
    ids=["none", "empty-bytes", "null-bytes", "null-text", "empty-object", "null-list", "empty-list", "no-key"],
)
def test_complete_success(sqs_event, answer):
    result = batch_result(sqs_event, answer)

    assert result.ok and not result.complete_failure
    assert result.succeeded_ids == ids(sqs_event) and result.retried == ()


def test_sqs_returns_exactly_the_reported_messages(sqs_event):
    first, second, third = ids(sqs_event)

    result = batch_result(sqs_event, json.dumps(failures(third, first)).encode())

    assert result.retried_ids == [first, third] and result.succeeded_ids == [second]
    assert not result.ok and not result.complete_failure and result.checkpoint is None


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (b"{not json", "not valid JSON"),
        ('"done"', "JSON str"),
        ([1, 2], "JSON list"),
        ({"batchItemFailures": "x"}, "not a list"),
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, "null or empty"),
        ({"batchItemFailures": [{"itemIdentifier": None}]}, "null or empty"),
        ({"batchItemFailures": [{"itemidentifier": "x"}]}, "no itemIdentifier key"),
        ({"batchItemFailures": ["x"]}, "no itemIdentifier key"),
        ({"batchItemFailures": [{"itemIdentifier": "not-in-batch"}]}, "names no record"),
    ],
)
def test_malformed_answers_fail_the_whole_batch(sqs_event, answer, why):
    result = batch_result(sqs_event, answer)

    assert result.complete_failure and not result.ok
    assert result.retried_ids == ids(sqs_event) and result.succeeded == ()
    assert why in result.reason


def test_a_function_error_fails_the_whole_batch_whatever_it_answered(sqs_event):
    error = Invocation(200, b'{"errorType": "ValueError", "errorMessage": "x"}')
    result = batch_result(sqs_event, error)

    assert result.complete_failure and result.retried_ids == ids(sqs_event)
    assert result.invocation is error and "function returned an error" in result.reason
    assert batch_result(sqs_event, {}, function_error=True).complete_failure


def test_an_invocation_answer_is_read_from_its_payload(sqs_event):
    reported = ids(sqs_event)[1]
    invocation = Invocation(200, json.dumps(failures(reported)).encode())

    assert batch_result(sqs_event, invocation).retried_ids == [reported]


def test_without_report_batch_item_failures_the_answer_is_not_read(sqs_event):
    result = batch_result(sqs_event, failures(ids(sqs_event)[0]), report_batch_item_failures=False)

    assert result.ok and result.succeeded_ids == ids(sqs_event)


def test_a_stream_checkpoints_at_the_lowest_failed_sequence_number(kinesis_event):
    seq = ids(kinesis_event)

    result = batch_result(kinesis_event, failures(seq[3], seq[1]))

    assert result.source == "kinesis" and result.checkpoint == seq[1]
    assert result.succeeded_ids == seq[:1] and result.retried_ids == seq[1:]
    assert not result.complete_failure


def test_sequence_numbers_compare_as_numbers():
    event = events.dynamodb_stream(
        [events.dynamodb_record("INSERT", keys={"id": str(n)}, sequence_number=n) for n in (9, 10, 11)]
    )
    seq = ids(event)
    assert seq == ["9", "10", "11"]

    result = batch_result(event, failures("11", "10"))

    assert result.source == "dynamodb" and result.checkpoint == "10"
    assert result.succeeded_ids == ["9"] and result.retried_ids == ["10", "11"]


def test_a_stream_batch_that_fails_whole_restarts_at_its_first_record(kinesis_event):
    result = batch_result(kinesis_event, b"oops")

    assert result.complete_failure and result.checkpoint == ids(kinesis_event)[0]


def test_records_of_other_sources_are_refused():
    with pytest.raises(ValueError, match="SQS, Kinesis or DynamoDB"):
        batch_result(events.sns("hello"), None)
    with pytest.raises(ValueError, match="no records"):
        batch_result({"Records": []}, None)
