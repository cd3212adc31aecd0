"""A Node.js function on the stand-in nodejs:20 base (aws-lambda-ric behind a
real RIE): every outcome, Node's own error document, the exec wrapper and
JSON logging. tests/images/node-fn has one handler per behaviour; each test
picks one with a handler override."""

from __future__ import annotations

import pytest

from pytest_lambda_image import LambdaFunction, Outcome

NODE_PATH = "/opt/nodejs/node20/node_modules:/opt/nodejs/node_modules:/var/runtime/node_modules:/var/runtime:/var/task"

@pytest.fixture(scope="module")
def echo(node_image, lambda_engine):
    """One warm container for the read-only tests of this module."""
    with LambdaFunction(node_image, engine=lambda_engine, timeout=5, function_name="node-echo") as function:
        yield function


def test_success_payload_and_context(echo):
    result = echo.invoke({"name": "Ada", "n": [1, 2]})

    assert result.ok and result.status_code == 200
    body = result.json()
    assert body["event"] == {"name": "Ada", "n": [1, 2]}
    assert body["requestId"] == result.request_id
    assert body["functionName"] == "node-echo"
    assert body["memoryLimitInMB"] == 128
    assert 0 < body["remainingMs"] <= 5000
    assert body["node"].startswith("v20.")
    assert any(f"{result.request_id}\tINFO\techo invoked with" in line for line in result.logs)
    assert result.report.duration_ms > 0


def test_runs_like_the_aws_base(echo):
    body = echo.invoke({}).json()
    env = body["env"]

    assert body["uid"] == 993  # the runtime's files are readable by Lambda's user
    assert env["NODE_PATH"] == NODE_PATH
    assert env["LAMBDA_TASK_ROOT"] == "/var/task" and env["LAMBDA_RUNTIME_DIR"] == "/var/runtime"
    assert env["_HANDLER"] == "index.echo"
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "node-echo"
    assert "WRAPPED_BY" not in env
    # the bootstrap sizes V8's heap from the function's memory
    assert body["execArgv"] == ["--max-old-space-size=108"]


def test_module_state_survives_warm_invokes(echo):
    first = echo.invoke({}).json()["invocations"]
    second = echo.invoke({}).json()["invocations"]

    assert second == first + 1


def test_thrown_error_is_a_function_error_with_nodes_document(node_image, lambda_function_factory):
    result = lambda_function_factory(node_image, handler="index.fail").invoke({"why": "card declined"})

    assert result.outcome is Outcome.FUNCTION_ERROR and result.status_code == 200
    assert result.error_type == "OrderRejected"  # the Error's name
    assert result.error_message == "boom: card declined"
    # Node's runtime posts errorType, errorMessage and trace (no stackTrace, no requestId)
    assert set(result.error) == {"errorType", "errorMessage", "trace"}
    assert result.stack_trace == result.error["trace"]
    assert result.stack_trace[0] == "OrderRejected: boom: card declined"
    assert any("(file:///var/task/index.mjs:" in frame for frame in result.stack_trace[1:])
    assert any(f"{result.request_id}\tERROR\tabout to fail" in line for line in result.logs)
    assert any("\tERROR\tInvoke Error \t" in line and '"errorType":"OrderRejected"' in line for line in result.logs)
    with pytest.raises(Exception, match="boom: card declined"):
        result.raise_for_error()


def test_rejected_promise_is_a_function_error(node_image, lambda_function_factory):
    result = lambda_function_factory(node_image, handler="index.reject").invoke({"why": "out of stock"})

    assert result.outcome is Outcome.FUNCTION_ERROR
    assert result.error_type == "TypeError"
    assert result.error_message == "rejected: out of stock"
    assert result.stack_trace[0] == "TypeError: rejected: out of stock"


def test_error_shaped_return_value_is_a_success(node_image, lambda_function_factory):
    result = lambda_function_factory(node_image, handler="index.lookalike").invoke({})

    assert result.outcome is Outcome.SUCCESS
    assert result.json() == {"errorType": "OrderRejected", "errorMessage": "only looks like an error"}
    assert result.error is None and result.error_type is None


def test_callback_style_handler(node_image, lambda_function_factory):
    result = lambda_function_factory(node_image, handler="index.callback").invoke({"n": 1})

    assert result.ok
    assert result.json() == {"via": "callback", "event": {"n": 1}}


def test_timeout_then_a_fresh_runtime(node_image, lambda_function_factory):
    function = lambda_function_factory(node_image, handler="index.sleep", timeout=1)

    timed_out = function.invoke({"ms": 3000})
    assert timed_out.outcome is Outcome.TIMEOUT
    assert timed_out.error_type == "Sandbox.Timedout"
    # Lambda's Invoke API answer, not the RIE's bare text
    assert timed_out.error_message == f"RequestId: {timed_out.request_id} Error: Task timed out after 1.00 seconds"
    assert timed_out.json() == {"errorType": "Sandbox.Timedout", "errorMessage": timed_out.error_message}
    assert timed_out.function_error == "Unhandled"

    recovered = function.invoke({"ms": 1})
    assert recovered.ok
    assert recovered.json() == {"woke": True, "invocations": 1}  # module state is gone: init ran again
    assert recovered.report.init_duration_ms is not None


NO_SUCH_PACKAGE = "no-such-package-in-this-image"
INIT_FAILURES = [
    pytest.param(
        "index.missing", "Runtime.HandlerNotFound", "index.missing is undefined or not exported", id="no-handler"
    ),
    pytest.param(
        "broken-syntax.handler", "Runtime.UserCodeSyntaxError", "SyntaxError: Unexpected token ';'", id="syntax"
    ),
    # CommonJS require of a missing package: the runtime's own type
    pytest.param(
        "broken-require.handler",
        "Runtime.ImportModuleError",
        f"Cannot find module '{NO_SUCH_PACKAGE}'",
        id="require-error",
    ),
    # ESM import of a missing package: Node's resolver error, passed on as plain Error
    pytest.param("broken-import.handler", "Error", f"Cannot find package '{NO_SUCH_PACKAGE}'", id="import-error"),
]


@pytest.mark.parametrize(("handler", "error_type", "message"), INIT_FAILURES)
def test_init_failure_is_an_init_error(node_image, lambda_function_factory, handler, error_type, message):
    result = lambda_function_factory(node_image, handler=handler).invoke({})

    assert result.outcome is Outcome.INIT_ERROR and result.status_code == 502
    # what the runtime posted to /runtime/init/error, as the RIE answers it
    document = result.json()
    assert document["errorType"] == error_type
    assert message in document["errorMessage"]
    assert document["trace"][0].startswith(error_type if error_type != "Error" else "Error [ERR_MODULE_NOT_FOUND]")


@pytest.mark.parametrize(("handler", "error_type", "message"), INIT_FAILURES)
def test_init_failure_keeps_the_runtimes_type(node_image, lambda_function_factory, handler, error_type, message):
    result = lambda_function_factory(node_image, handler=handler).invoke({})

    assert result.outcome is Outcome.INIT_ERROR
    assert result.error_type == error_type
    assert message in result.error_message
    assert result.stack_trace and result.error["trace"] == result.stack_trace


def test_exec_wrapper_changes_the_handlers_environment(node_image, lambda_function_factory):
    function = lambda_function_factory(node_image, env={"AWS_LAMBDA_EXEC_WRAPPER": "/opt/wrapper.sh"})
    env = function.invoke({}).json()["env"]

    assert env["WRAPPED_BY"] == "wrapper.sh"
    # the wrapper gets the whole runtime command line, and runs it
    assert env["WRAPPER_ARGS"] == (
        "/var/lang/bin/node --max-old-space-size=108 /var/runtime/node_modules/aws-lambda-ric/bin/index.mjs index.echo"
    )


def test_json_logs_are_records(node_image, lambda_function_factory):
    result = lambda_function_factory(node_image, handler="index.logs", log_format="JSON").invoke({"orderId": 7})

    assert result.ok
    init, *records = result.log_records  # a cold invoke: the module's init line comes first
    assert init["message"] == "index.mjs initialised" and init["level"] == "INFO" and "requestId" not in init
    assert all(set(record) >= {"timestamp", "level", "requestId", "message"} for record in records)
    assert all(record["requestId"] == result.request_id for record in records)
    assert all(record["timestamp"].endswith("Z") for record in records)
    by_message = {record["message"].split("\n")[0]: record for record in records}
    assert {message: record["level"] for message, record in by_message.items()} == {
        "plain text line": "INFO",
        "order stored { orderId: 7 }": "INFO",  # console.log's formatting of extra arguments
        "info line": "INFO",
        "stock low": "WARN",
        "payment failed Error: card declined": "ERROR",
        "debug detail": "DEBUG",
    }
    error = by_message["payment failed Error: card declined"]
    assert error["errorType"] == "Error" and error["errorMessage"] == "card declined"
    assert error["stackTrace"][0] == "Error: card declined"


def test_json_log_level_filters_records(node_image, lambda_function_factory):
    function = lambda_function_factory(node_image, handler="index.logs", log_format="JSON", log_level="WARN")
    result = function.invoke({"orderId": 7})

    assert [record["level"] for record in result.log_records] == ["WARN", "ERROR"]
    assert not any("plain text line" in line for line in result.logs)


def test_a_response_over_lambdas_limit_is_an_error(node_image, lambda_function_factory):
    """aws-lambda-ric POSTs it to /response; the RIE refuses it, as Lambda does."""
    function = lambda_function_factory(node_image, handler="index.echo")
    result = function.invoke({"pad": "x" * 6_291_400})
    assert result.outcome is Outcome.FUNCTION_ERROR
    assert result.error_type == "Function.ResponseSizeTooLarge"
    assert function.invoke({"small": True}).ok
