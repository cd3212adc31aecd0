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


@pytest.mark.parametrize(
    "make",
    [
        lambda: events.dynamodb_stream([events.dynamodb_record(keys={"id": str(n)}) for n in range(4)]),
        lambda: events.kinesis([events.kinesis_record(f"r{n}") for n in range(4)]),
        lambda: events.sqs([events.sqs_message(f"m{n}", queue="q.fifo") for n in range(4)]),
    ],
    ids=["dynamodb", "kinesis", "sqs-fifo"],
)
def test_records_made_one_by_one_keep_their_own_identifiers(make):
    event, later = make(), make()
    seq = ids(event)
    assert len(set(seq + ids(later))) == 8  # unique within a batch and across batches

    result = batch_result(event, failures(seq[2]))

    # A stream retries from the failed record on; SQS returns that message alone.
    assert result.retried_ids == (seq[2:] if result.source != "sqs" else [seq[2]])
    assert result.succeeded_ids[:2] == seq[:2] and not result.complete_failure


def test_stream_sequence_numbers_grow_with_each_record_made():
    made = [events.dynamodb_record(keys={"id": "x"}) for _ in range(3)]
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in made]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3
    events.validate(events.dynamodb_stream(made), "dynamodb-stream")
    events.validate(events.kinesis([events.kinesis_record("a"), events.kinesis_record("b")]), "kinesis")


def test_a_batch_whose_records_share_an_identifier_is_refused():
    event = events.dynamodb_stream([events.dynamodb_record(keys={"id": str(n)}, sequence_number=7) for n in range(2)])
    with pytest.raises(ValueError, match="two records of the batch have the identifier '7': give each its own"):
        batch_result(event, failures("7"))


def test_a_stream_batch_that_fails_whole_restarts_at_its_first_record(kinesis_event):
    result = batch_result(kinesis_event, b"oops")

    assert result.complete_failure and result.checkpoint == ids(kinesis_event)[0]


def test_records_of_other_sources_are_refused():
    with pytest.raises(ValueError, match="SQS, Kinesis or DynamoDB"):
        batch_result(events.sns("hello"), None)
    with pytest.raises(ValueError, match="no records"):
        batch_result({"Records": []}, None)
