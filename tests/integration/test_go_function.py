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
