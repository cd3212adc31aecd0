import json

import pytest

from pytest_lambda_image import FunctionError, Invocation, Outcome
from pytest_lambda_image._runtime.invocation import InvocationLogs, Report, classify
from pytest_lambda_image._runtime.rapid_log import Verdict

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


def test_a_timeout_answers_as_lambda_s_invoke_api():
    # The RIE answers bare text; Lambda an error document with X-Amz-Function-Error: Unhandled.
    result = Invocation(200, b"Task timed out after 1.00 seconds", verdict=Verdict("timeout", "r-9"))
    assert result.json() == {
        "errorType": "Sandbox.Timedout",
        "errorMessage": "RequestId: r-9 Error: Task timed out after 1.00 seconds",
    }
    assert result.function_error == "Unhandled"
    assert result.error_message == "RequestId: r-9 Error: Task timed out after 1.00 seconds"
    assert Invocation(200, b'{"ok": 1}', verdict=Verdict("response", "r-1")).function_error is None


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




def test_the_runtimes_call_decides_over_the_shape():
    lookalike = json.dumps({"errorType": "X", "errorMessage": "data"}).encode()
    assert classify(200, lookalike, Verdict("response"))[0] is Outcome.SUCCESS
    node = json.dumps({"errorType": "Error", "errorMessage": "boom", "trace": ["Error: boom", "    at x"]}).encode()
    outcome, error = classify(200, node, Verdict("error"))
    assert outcome is Outcome.FUNCTION_ERROR and error["trace"] == ["Error: boom", "    at x"]
    assert Invocation(200, node, verdict=Verdict("error")).stack_trace == ["Error: boom", "    at x"]


def test_anything_posted_to_error_is_an_error():
    outcome, error = classify(200, b'{"message": "custom"}', Verdict("error", error_type="Custom.Thing"))
    assert outcome is Outcome.FUNCTION_ERROR and error == {"message": "custom", "errorType": "Custom.Thing"}
    outcome, error = classify(200, b"not json", Verdict("error"))
    assert error == {"errorMessage": "not json", "errorType": "Unhandled"}


def test_an_empty_502_takes_the_rie_s_reason():
    verdict = Verdict("init_error", "r-9", "Runtime.InvalidEntrypoint", "fork/exec /bootstrap: permission denied")
    result = Invocation(502, b"", verdict=verdict)
    assert result.outcome is Outcome.INIT_ERROR
    assert result.error_type == "Runtime.InvalidEntrypoint"
    assert result.error_message == "RequestId: r-9 Error: fork/exec /bootstrap: permission denied"
    assert result.request_id == "r-9"


def test_out_of_memory():
    message = "RequestId: r Error: Runtime exited with error: signal: killed"
    body = json.dumps({"errorType": "Runtime.ExitError", "errorMessage": message}).encode()
    result = Invocation(
        502,
        body,
        out_of_memory=True,
        logs_source=lambda: InvocationLogs(request_id="r", lines=("x",)),
        memory_size_mb=128,
        elapsed_ms=1234.5,
    )
    assert result.outcome is Outcome.RUNTIME_EXIT and result.out_of_memory
    assert result.error_type == "Runtime.OutOfMemory" and "signal: killed" in result.error_message
    assert result.payload == body  # the answer is the RIE's, as on Lambda
    assert result.report == Report(1234.5, 1235, 128, 128)
    assert result.logs[-1] == (
        "REPORT RequestId: r\tDuration: 1234.50 ms\tBilled Duration: 1235 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 128 MB\tStatus: error\tError Type: Runtime.OutOfMemory"
    )


def test_the_report_line_says_what_the_report_says():
    from pytest_lambda_image._runtime.invocation import report_line

    rie = (
        "REPORT RequestId: r\tInit Duration: 0.21 ms\tDuration: 36.11 ms\tBilled Duration: 37 ms\t"
        "Memory Size: 256 MB\tMax Memory Used: 256 MB\t"
    )
    assert report_line(rie, Report(36.11, 37, 256, 61, 35.04)) == (
        "REPORT RequestId: r\tDuration: 36.11 ms\tBilled Duration: 37 ms\tMemory Size: 256 MB\t"
        "Max Memory Used: 61 MB\tInit Duration: 35.04 ms"
    )
    relay = "REPORT RequestId: r\tDuration: 2000.10 ms\tBilled Duration: 2001 ms\tMemory Size: 128 MB\t" \
        "Max Memory Used: 128 MB\tStatus: timeout"
    assert report_line(relay, Report(2000.1, 2001, 128, 40)).endswith("Max Memory Used: 40 MB\tStatus: timeout")


def test_json_log_records():
    lines = ('{"level": "INFO", "message": "a"}', "plain", '{"broken": ', "[1, 2]")
    result = Invocation(200, b"{}", logs_source=lambda: InvocationLogs(lines=lines))
    assert result.log_records == [{"level": "INFO", "message": "a"}]


def test_report_uses_the_real_peak():
    report = Report(1.0, 1, 128, 128)
    result = Invocation(200, b"{}", logs_source=lambda: InvocationLogs(report=report), memory_peak=lambda: 42)
    assert result.report.max_memory_used_mb == 42
    no_peak = Invocation(200, b"{}", logs_source=lambda: InvocationLogs(report=report), memory_peak=lambda: None)
    assert no_peak.report.max_memory_used_mb == 128


def test_a_failed_answer_keeps_any_runtimes_document():
    node = b'{"errorType":"Runtime.HandlerNotFound","errorMessage":"index.missing is undefined","trace":["x"]}'
    outcome, error = classify(502, node)
    assert outcome is Outcome.INIT_ERROR and error["errorType"] == "Runtime.HandlerNotFound"


def test_the_ries_too_large_answer_is_an_error_even_before_its_line_arrives():
    body = b'{"errorType":"Function.ResponseSizeTooLarge","errorMessage":"Response payload size exceeded maximum"}'
    outcome, error = classify(200, body, Verdict("response"))
    assert outcome is Outcome.FUNCTION_ERROR and error["errorType"] == "Function.ResponseSizeTooLarge"


def test_plain_text_posted_to_init_error():
    outcome, error = classify(502, b"config file missing", Verdict("init_error", error_type="Custom.Init"))
    assert outcome is Outcome.INIT_ERROR
    assert error == {"errorMessage": "config file missing", "errorType": "Custom.Init"}


def test_truthiness_is_success():
    assert Invocation(200, b"{}")
    assert not Invocation(200, b'{"errorType": "E", "errorMessage": "m"}')
    assert not Invocation(502, b"")


@pytest.mark.parametrize("payload", [b"nope", b"[1,", b'{"a": NaN}', b"Infinity", b"\xff\xfe{"])
def test_a_raw_payload_must_be_json(payload):
    from pytest_lambda_image import InvalidRequestContent
    from pytest_lambda_image._runtime.function import encode_payload

    with pytest.raises(InvalidRequestContent, match="not JSON"):
        encode_payload(None, payload, 1000, "synchronous")
    assert encode_payload(None, b' {"a": [1, 2.5, null]} ', 1000, "synchronous") == b' {"a": [1, 2.5, null]} '
    assert encode_payload(None, b"", 1000, "synchronous") == b""
