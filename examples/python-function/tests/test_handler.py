"""The example function's own tests: plain pytest, the plugin does the rest.

Run from this directory with `pytest`; configuration is in pyproject.toml.
"""

import pytest

from pytest_lambda_image import Outcome


def test_greets_by_name(lambda_function):
    result = lambda_function.invoke({"name": "Ada"})

    assert result.ok
    assert result.json()["message"] == "Hello, Ada!"
    assert result.json()["request_id"] == result.request_id


def test_logs_belong_to_the_invocation(lambda_function):
    result = lambda_function.invoke({"name": "Grace"})

    assert any("greeting Grace" in line for line in result.logs)
    assert not any("greeting Ada" in line for line in result.logs)
    assert result.report.duration_ms > 0


def test_missing_name_is_a_function_error(lambda_function):
    result = lambda_function.invoke({})

    assert result.outcome is Outcome.FUNCTION_ERROR
    assert result.error_type == "ValidationError"
    assert "non-empty 'name'" in result.error_message


@pytest.mark.lambda_function(env={"GREETING": "Bonjour"}, memory_size=256)
def test_marker_overrides_env_and_memory(lambda_function):
    body = lambda_function.invoke({"name": "Marie"}).raise_for_error().json()

    assert body["message"] == "Bonjour, Marie!"
    assert body["memory_mb"] == 256


@pytest.mark.lambda_function(handler="app.missing")
def test_unknown_handler_is_an_init_error(lambda_function):
    result = lambda_function.invoke({"name": "x"})

    assert result.outcome is Outcome.INIT_ERROR
    assert result.error_type == "Runtime.HandlerNotFound"
