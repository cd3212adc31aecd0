"""A Go function (provided.al2023 style: a static bootstrap in /var/task), as
aws-lambda-go behaves: the outcomes, phases and logs Lambda would give it."""

from __future__ import annotations

import pytest

from pytest_lambda_image import LambdaFunction, Outcome


@pytest.fixture(scope="module")
def go_fn(go_image):
    with LambdaFunction(go_image, timeout=5) as fn:
        yield fn


def test_answers(go_fn):
    result = go_fn.invoke({"action": "echo", "n": 1})
    assert result.ok, result.payload
    assert result.json()["event"] == {"action": "echo", "n": 1}


def test_a_panic_is_a_function_error_and_the_environment_is_reset(go_fn):
    # aws-lambda-go posts the panic to /invocation/<id>/error, then the process
    # exits: the RIE answers 502, Lambda reports an Unhandled function error.
    result = go_fn.invoke({"action": "panic"})
    assert result.outcome is Outcome.FUNCTION_ERROR, (result.status_code, result.payload)
    assert result.error_type == "string"
    assert result.error_message == "kaboom"
    # Go's frames are objects: they read as Go would print them, not as Python reprs.
    assert result.stack_trace, result.error
    assert all("{" not in frame and "'" not in frame for frame in result.stack_trace), result.stack_trace
    assert any("main.handle" in frame and "main.go:" in frame for frame in result.stack_trace), result.stack_trace
    after = go_fn.invoke({"action": "echo"})
    assert after.ok, after.payload
    assert after.report is not None and after.report.init_duration_ms is not None  # a new environment


def test_a_returned_error_is_a_function_error(go_fn):
    result = go_fn.invoke({"action": "error"})
    assert result.outcome is Outcome.FUNCTION_ERROR
    assert result.error_type == "*errors.errorString"


def test_a_timeout_answers_as_lambda_does(go_image):
    with LambdaFunction(go_image, timeout=1) as fn:
        result = fn.invoke({"action": "sleep", "seconds": 3})
        assert result.outcome is Outcome.TIMEOUT
        assert result.json() == {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"RequestId: {result.request_id} Error: Task timed out after 1.00 seconds",
        }
        assert result.function_error == "Unhandled"
        assert fn.invoke({"action": "echo"}).ok


def test_an_async_timeout_s_failure_record_holds_lambda_s_document(go_image):
    from pytest_lambda_image import invoke_async

    failures: list[dict] = []
    with LambdaFunction(go_image, timeout=1) as fn:
        handle = invoke_async(fn, {"action": "sleep", "seconds": 3}, retries=0, on_failure=failures.append).wait()
    assert handle.condition == "RetriesExhausted"
    (record,) = failures
    assert record["responsePayload"]["errorType"] == "Sandbox.Timedout"
    assert record["responsePayload"]["errorMessage"].endswith("Task timed out after 1.00 seconds")
    assert record["responseContext"]["functionError"] == "Unhandled"


@pytest.mark.parametrize("payload", [b"not json", b'{"n": NaN}', b"{'single': 'quotes'}"])
def test_a_payload_that_is_not_json_never_reaches_the_function(go_image, payload):
    from pytest_lambda_image import InvalidRequestContent

    with LambdaFunction(go_image, timeout=2) as fn:
        with pytest.raises(InvalidRequestContent, match="InvalidRequestContentException"):
            fn.invoke(payload=payload)
        first = fn.invoke(payload=b'{"action": "echo"}')
        assert first.ok and first.report.init_duration_ms is not None  # the refused one never ran init
        with pytest.raises(InvalidRequestContent):
            fn.invoke({"n": float("nan")})
