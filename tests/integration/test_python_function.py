"""A Python function on the stand-in AWS base image (which has the RIE):
every outcome, settings, logs and figures, through a real RIE."""

from __future__ import annotations

import threading
import time

import pytest

from pytest_lambda_image import (
    ConfigError,
    FunctionError,
    InvokeError,
    LambdaFunction,
    Outcome,
    RequestEntityTooLarge,
)

from ..conftest import session_containers as _containers


@pytest.fixture(scope="module")
def echo(python_image, lambda_engine):
    """One warm container for the read-only tests of this module."""
    with LambdaFunction(python_image, engine=lambda_engine, timeout=5, function_name="echo-fn") as function:
        yield function


def test_success_payload_and_context(echo):
    result = echo.invoke({"name": "Ada", "n": [1, 2]})

    assert result.ok and result.status_code == 200
    body = result.json()
    assert body["event"] == {"name": "Ada", "n": [1, 2]}
    assert body["function_name"] == "echo-fn"
    assert body["request_id"] == result.request_id
    assert 0 < body["remaining_ms"] <= 5000
    assert result.payload == result.text.encode()


def test_environment_lambda_sets(echo):
    env = echo.invoke({}).json()["env"]

    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "echo-fn"
    assert env["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "5"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "128"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == "us-east-1"
    assert env["GREETING"] == "hello"  # the image's own ENV is kept


def test_host_aws_credentials_stay_out_by_default(python_image, lambda_function_factory, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAHOSTKEY000000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "host-secret")
    env = lambda_function_factory(python_image).invoke({}).json()["env"]
    assert env.get("AWS_ACCESS_KEY_ID", "") == ""
    assert env.get("AWS_SECRET_ACCESS_KEY", "") == ""

    env = lambda_function_factory(python_image, pass_aws_credentials=True).invoke({}).json()["env"]
    assert env["AWS_ACCESS_KEY_ID"] == "AKIAHOSTKEY000000000"
    assert env["AWS_SECRET_ACCESS_KEY"] == "host-secret"


def test_logs_are_per_invocation(echo):
    first = echo.invoke({"marker": "first-call"})
    second = echo.invoke({"marker": "second-call"})

    assert any("first-call" in line for line in first.logs)
    assert not any("second-call" in line for line in first.logs)
    assert any("second-call" in line for line in second.logs)
    assert any(line.startswith(f"REPORT RequestId: {first.request_id}") for line in first.logs)
    assert not any(second.request_id in line for line in first.logs)
    assert first.request_id != second.request_id


def test_report_figures(python_image, lambda_function_factory):
    function = lambda_function_factory(python_image, memory_size=256)
    cold = function.invoke({})
    warm = function.invoke({})

    assert cold.report.memory_size_mb == 256
    assert cold.report.duration_ms > 0 and cold.report.billed_duration_ms >= 1
    assert cold.report.init_duration_ms is not None and cold.report.init_duration_ms > 0
    assert any("handlers module initialised" in line for line in cold.logs)
    assert warm.report.init_duration_ms is None
    assert not any("handlers module initialised" in line for line in warm.logs)
    assert warm.json()["warm_invocations"] == 2


def test_function_error(python_image, lambda_function_factory):
    result = lambda_function_factory(python_image, handler="handlers.fail").invoke({"why": "testing"})

    assert result.outcome is Outcome.FUNCTION_ERROR and not result.ok
    assert result.error_type == "ValueError"
    assert result.error_message == "boom: testing"
    assert any("handlers.py" in frame for frame in result.stack_trace)
    assert any("about to fail" in line for line in result.logs)
    with pytest.raises(FunctionError, match="raised an error: ValueError: boom: testing"):
        result.raise_for_error()


def test_timeout_then_recovery(python_image, lambda_function_factory):
    function = lambda_function_factory(python_image, handler="handlers.sleep", timeout=1)
    result = function.invoke({"seconds": 5})

    assert result.outcome is Outcome.TIMEOUT
    # Lambda's Invoke API answer, not the RIE's bare text
    assert result.error_message == f"RequestId: {result.request_id} Error: Task timed out after 1.00 seconds"
    assert result.json() == {"errorType": "Sandbox.Timedout", "errorMessage": result.error_message}
    assert result.function_error == "Unhandled"
    assert result.report.duration_ms == pytest.approx(1000, abs=500)
    assert function.invoke({"seconds": 0}).ok  # the next invoke re-runs init


def test_runtime_exit_then_recovery(python_image, lambda_function_factory):
    function = lambda_function_factory(python_image, handler="handlers.crash")
    result = function.invoke({})

    assert result.outcome is Outcome.RUNTIME_EXIT
    assert result.status_code == 502
    assert result.error_type == "Runtime.ExitError"
    assert "exit status 3" in result.error_message
    assert any("crashing now" in line for line in result.logs)
    assert function.invoke({}).outcome is Outcome.RUNTIME_EXIT  # still running, re-initialised, crashed again


@pytest.mark.parametrize(
    ("handler", "env", "error_type"),
    [
        ("missing_module.handler", {}, "Runtime.ImportModuleError"),
        ("handlers.no_such_function", {}, "Runtime.HandlerNotFound"),
        ("broken_init.handler", {"BREAK": "raise"}, "RuntimeError"),
        ("broken_init.handler", {"BREAK": "exit"}, "Runtime.ExitError"),
    ],
)
def test_init_failures(python_image, lambda_function_factory, handler, env, error_type):
    result = lambda_function_factory(python_image, handler=handler, env=env).invoke({})

    assert result.outcome is Outcome.INIT_ERROR
    assert result.error_type == error_type
    with pytest.raises(FunctionError, match="failed to initialise"):
        result.raise_for_error()


def test_handler_override_and_function_name(python_image, lambda_function_factory):
    function = lambda_function_factory(python_image, handler="handlers.variant", function_name="renamed")
    assert function.invoke({}).json() == "variant"
    assert function.function_name == "renamed"


def test_client_context(echo):
    result = echo.invoke({}, client_context={"custom": {"tenant": "t-1"}, "env": {}, "client": {}})
    assert result.json()["client_context"] == {"tenant": "t-1"}


def test_raw_payload(echo):
    assert echo.invoke(payload=b'{"raw": true}').json()["event"] == {"raw": True}
    assert echo.invoke().json()["event"] == {}


def test_event_must_be_json_serializable(echo):
    with pytest.raises(InvokeError, match="not JSON-serializable"):
        echo.invoke({"when": object()})
    with pytest.raises(InvokeError, match="either an event or a raw payload"):
        echo.invoke({}, payload=b"{}")


def test_payload_limit_is_lambdas(python_image, lambda_function_factory):
    function = lambda_function_factory(python_image, handler="handlers.chatty")
    just_fits = b'{"pad": "' + b"x" * (6 * 1024 * 1024 - 11) + b'"}'
    assert len(just_fits) == 6 * 1024 * 1024
    assert function.invoke(payload=just_fits).ok
    with pytest.raises(RequestEntityTooLarge, match="RequestEntityTooLarge"):
        function.invoke(payload=just_fits + b" ")
    assert function.invoke({}).ok  # nothing was sent, the function is untouched


@pytest.mark.parametrize("size", [7_000_000, 6_291_560])  # far over, and just over Lambda's 6,291,556 bytes
def test_response_too_large_is_a_function_error(python_image, lambda_function_factory, size):
    result = lambda_function_factory(python_image, handler="handlers.big").invoke({"size": size})
    assert result.outcome is Outcome.FUNCTION_ERROR
    assert result.error_type == "Function.ResponseSizeTooLarge"


def test_concurrent_invokes_are_serialized(python_image, lambda_function_factory):
    function = lambda_function_factory(python_image, handler="handlers.slow_echo")
    results: dict[int, object] = {}

    def call(i: int) -> None:
        results[i] = function.invoke({"i": i})

    threads = [threading.Thread(target=call, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(results) == list(range(8))
    assert all(results[i].ok and results[i].json() == {"i": i} for i in range(8))
    assert len({results[i].request_id for i in range(8)}) == 8
    assert function.is_running()


def test_stopped_function_refuses_invokes(python_image, lambda_engine):
    function = LambdaFunction(python_image, engine=lambda_engine).start()
    container_id = function.get_wrapped_container().id
    function.stop()
    assert container_id not in _containers(lambda_engine)
    with pytest.raises(Exception, match="not started"):
        function.invoke({})


def test_container_killed_from_outside(python_image, lambda_function_factory, lambda_engine):
    function = lambda_function_factory(python_image)
    lambda_engine.client.api.kill(function.get_wrapped_container().id)
    with pytest.raises(InvokeError, match="container is exited"):
        function.invoke({})


def test_testcontainers_api_works(python_image, lambda_engine, tmp_path, monkeypatch):
    """LambdaFunction is a testcontainers DockerContainer: its builders and helpers work,
    and making one neither logs in to a registry nor touches DOCKER_HOST."""
    monkeypatch.setenv("DOCKER_AUTH_CONFIG", '{"auths": {"127.0.0.1:9": {"auth": "dXNlcjpwYXNz"}}}')
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    (tmp_path / "data.txt").write_text("mounted")
    tmp_path.chmod(0o755)  # the function runs as Lambda's user (993), not root
    function = (
        LambdaFunction(python_image, engine=lambda_engine)
        .with_envs(FROM_TC="yes")
        .with_volume_mapping(str(tmp_path), "/mnt/data", "ro")
    )
    import os

    with function:
        assert "DOCKER_HOST" not in os.environ
        assert function.invoke({}).json()["env"]["FROM_TC"] == "yes"
        assert function.exec(["cat", "/mnt/data/data.txt"]).output == b"mounted"
        stdout, stderr = function.get_logs()
        assert b"START RequestId" in stdout + stderr
        assert function.get_wrapped_container().status == "running"


def test_a_return_value_shaped_like_an_error_is_a_success(python_image, lambda_function_factory):
    function = lambda_function_factory(python_image, handler="handlers.raw_echo")
    result = function.invoke({"errorType": "ValidationError", "errorMessage": "this is data"})
    assert result.ok and result.outcome is Outcome.SUCCESS
    assert result.json() == {"errorType": "ValidationError", "errorMessage": "this is data"}


def test_after_a_client_side_timeout_the_next_invoke_says_why(python_image, lambda_function_factory):
    function = lambda_function_factory(python_image, handler="handlers.sleep", timeout=10)
    with pytest.raises(InvokeError, match="no answer within 1 s"):
        function.invoke({"seconds": 5}, timeout=1)
    with pytest.raises(InvokeError, match="client-side timeout of 1 s, so its container was removed"):
        function.invoke({"seconds": 0})


def test_a_container_that_dies_during_an_invoke(python_image, lambda_function_factory, lambda_engine):
    function = lambda_function_factory(python_image, handler="handlers.sleep", timeout=10)
    container_id = function.get_wrapped_container().id
    killer = threading.Timer(0.5, lambda: lambda_engine.client.api.kill(container_id))
    killer.start()
    try:
        with pytest.raises(InvokeError, match=r"the container is exited \(exit code 137\)"):
            function.invoke({"seconds": 5})
    finally:
        killer.cancel()



def test_exec_wrapper_runs_the_runtime(python_image, lambda_function_factory):
    function = lambda_function_factory(python_image, env={"AWS_LAMBDA_EXEC_WRAPPER": "/opt/wrapper.sh"})
    assert function.invoke({}).json()["env"]["WRAPPED_BY"] == "wrapper.sh"


def test_threads_waiting_behind_a_client_side_timeout_get_its_reason(python_image, lambda_function_factory):
    function = lambda_function_factory(python_image, handler="handlers.sleep", timeout=10)
    errors: list[Exception] = []

    def call(seconds: float, timeout: float | None) -> None:
        try:
            function.invoke({"seconds": seconds}, timeout=timeout)
        except Exception as exc:  # noqa: BLE001 - collected and checked below
            errors.append(exc)

    first = threading.Thread(target=call, args=(5, 1))
    first.start()
    time.sleep(0.2)
    second = threading.Thread(target=call, args=(0, None))
    second.start()
    first.join()
    second.join()
    assert sorted(type(e).__name__ for e in errors) == ["InvokeError", "InvokeError"]
    assert any("client-side timeout of 1 s" in str(e) for e in errors)


def test_with_env_is_checked_like_env(python_image, lambda_engine):
    with pytest.raises(ConfigError, match="AWS_REGION is reserved by Lambda"):
        LambdaFunction(python_image, engine=lambda_engine).with_env("AWS_REGION", "eu-west-1")
    with pytest.raises(ConfigError, match="timeout setting"):
        LambdaFunction(python_image, engine=lambda_engine).with_envs(AWS_LAMBDA_FUNCTION_TIMEOUT="2.5")
