import json

import pytest

from pytest_lambda_image import FunctionError, Invocation, Outcome
from pytest_lambda_image.invocation import InvocationLogs, Report, classify

ERROR_BODY = json.dumps(
    {"errorMessage": "boom", "errorType": "ValueError", "requestId": "r-1", "stackTrace": ['  File "app.py"']}
).encode()


@pytest.mark.parametrize(
    ("status", "body", "outcome"),
    [
        (200, b'{"ok": true}', Outcome.SUCCESS),
        (200, b"plain text", Outcome.SUCCESS),
        (200, b"", Outcome.SUCCESS),
        (200, ERROR_BODY, Outcome.FUNCTION_ERROR),
        (200, b"Task timed out after 3.00 seconds", Outcome.TIMEOUT),
        (
            502,
            b'{"errorType":"Runtime.ExitError","errorMessage":"RequestId: x Error: exit status 3"}',
            Outcome.RUNTIME_EXIT,
        ),
        (502, b'{"errorType":"Function.ResponseSizeTooLarge","errorMessage":"too big"}', Outcome.FUNCTION_ERROR),
        (
            502,
            b'{"errorMessage":"Unable to import module","errorType":"Runtime.ImportModuleError"}',
            Outcome.INIT_ERROR,
        ),
        (502, b"", Outcome.INIT_ERROR),
    ],
)
def test_classify(status, body, outcome):
    assert classify(status, body)[0] is outcome


def test_a_success_payload_that_merely_mentions_errors_is_success():
    body = json.dumps({"errorType": "x", "errorMessage": "y", "data": [1]}).encode()
    assert classify(200, body)[0] is Outcome.SUCCESS


def test_a_timeout_message_inside_json_is_not_a_timeout():
    assert classify(200, b'"Task timed out after 3.00 seconds"')[0] is Outcome.SUCCESS


def test_success_reads_like_a_response():
    result = Invocation(200, b'{"a": [1, 2]}')
    assert result.ok
    assert result.json() == {"a": [1, 2]}
    assert result.text == '{"a": [1, 2]}'
    assert result.error_type is None and result.error_message is None and result.stack_trace == []
    assert result.raise_for_error() is result


def test_function_error_details_and_raise():
    result = Invocation(200, ERROR_BODY, function_name="greeter")
    assert not result.ok
    assert result.outcome is Outcome.FUNCTION_ERROR
    assert (result.error_type, result.error_message) == ("ValueError", "boom")
    assert result.stack_trace == ['  File "app.py"']
    assert result.request_id == "r-1"
    with pytest.raises(FunctionError, match=r"greeter raised an error: ValueError: boom") as info:
        result.raise_for_error()
    assert info.value.invocation is result


def test_timeout_details():
    result = Invocation(200, b"Task timed out after 2.00 seconds")
    assert result.outcome is Outcome.TIMEOUT
    assert result.error_type == "Sandbox.Timedout"
    assert result.error_message == "Task timed out after 2.00 seconds"
    with pytest.raises(FunctionError, match="timed out"):
        result.raise_for_error()


def test_silent_init_crash_details():
    result = Invocation(502, b"")
    assert result.outcome is Outcome.INIT_ERROR
    assert result.error_type == "Runtime.ExitError"
    assert "during init" in result.error_message


def test_logs_come_from_the_source_once():
    calls = []
    report = Report(1.5, 2, 128, 40, None)

    def source():
        calls.append(1)
        return InvocationLogs(request_id="abc", lines=("START", "hi", "REPORT"), report=report)

    result = Invocation(200, b"1", logs_source=source)
    assert result.request_id == "abc"
    assert result.logs == ["START", "hi", "REPORT"]
    assert result.log_text == "START\nhi\nREPORT"
    assert result.report is report
    assert len(calls) == 1


def test_without_a_log_source_logs_are_empty():
    result = Invocation(200, b"1")
    assert result.logs == [] and result.report is None and result.request_id is None
