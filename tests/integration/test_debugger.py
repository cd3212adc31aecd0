"""Step-through debugging (issue 14): a real debug client attaches to the
function's published port. Python: debugpy, spoken to over DAP on a socket
(tests/integration/dap.py), sets a breakpoint in tests/images/python-fn and
reads a local variable. Node.js: the inspector's /json endpoint, then a
breakpoint over the Chrome DevTools Protocol (tests/integration/cdp.py)."""

from __future__ import annotations

import http.client
import json
import threading
import time
from pathlib import Path

import pytest

from pytest_lambda_image import ConfigError, LambdaFunction
from pytest_lambda_image.debug import WAIT_ENV, address, attach, set_announcer

from .cdp import CdpClient
from .dap import DapClient

IMAGES = Path(__file__).parents[1] / "images"

# tests/images/python-fn/handlers.py: `WARM["invocations"] += 1`, the first line of echo()
ECHO_FIRST_LINE = next(
    number
    for number, line in enumerate((IMAGES / "python-fn" / "handlers.py").read_text().splitlines(), start=1)
    if line.strip() == 'WARM["invocations"] += 1'
)


@pytest.fixture
def announced():
    """What the debugger announces (where to attach), instead of stderr."""
    lines: list[str] = []
    undo = set_announcer(lines.append)
    yield lines
    undo()


def invoke_in_thread(function: LambdaFunction, event: dict) -> tuple[threading.Thread, dict]:
    result: dict = {}

    def run() -> None:
        try:
            result["invocation"] = function.invoke(event)
        except Exception as exc:  # noqa: BLE001 (handed to the test)
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def test_debugpy_attaches_stops_at_a_breakpoint_and_reads_a_local(python_image, lambda_engine, monkeypatch, announced):
    monkeypatch.setenv(WAIT_ENV, "60")
    # timeout=1: a function paused at a breakpoint must not time out
    function = attach(LambdaFunction(python_image, engine=lambda_engine, handler="handlers.echo", timeout=1), "python")
    with function:
        host, port = address(function)
        assert announced and f"{host}:{port}" in announced[0] and "VS Code" in announced[0]
        thread, result = invoke_in_thread(function, {"order": 41})  # the runtime starts: debugpy waits for us
        dap = DapClient(host, port)
        try:
            attaching = dap.send("attach", justMyCode=True)
            dap.event("initialized")
            breakpoints = dap.request(
                "setBreakpoints", source={"path": "/var/task/handlers.py"}, breakpoints=[{"line": ECHO_FIRST_LINE}]
            )
            assert breakpoints["body"]["breakpoints"][0]["verified"]
            dap.request("configurationDone")
            dap.response(attaching)

            stopped = dap.event("stopped")
            assert stopped["body"]["reason"] == "breakpoint"
            thread_id = stopped["body"]["threadId"]
            frame = dap.request("stackTrace", threadId=thread_id)["body"]["stackFrames"][0]
            assert (frame["name"], frame["line"], frame["source"]["path"]) == (
                "echo",
                ECHO_FIRST_LINE,
                "/var/task/handlers.py",
            )
            scopes = dap.request("scopes", frameId=frame["id"])["body"]["scopes"]
            local = next(scope for scope in scopes if scope["name"].lower().startswith("locals"))
            variables = dap.request("variables", variablesReference=local["variablesReference"])["body"]["variables"]
            assert {v["name"]: v["value"] for v in variables}["event"] == "{'order': 41}"

            time.sleep(1.5)  # longer than the function's timeout, paused
            dap.request("continue", threadId=thread_id)
            thread.join(30)
        finally:
            dap.close()
        assert "error" not in result, result.get("error")
        invocation = result["invocation"]
        assert invocation.ok, invocation.payload
        assert invocation.json()["event"] == {"order": 41}
        # Later invokes run on (the breakpoint is still set but the client is gone).
        assert function.invoke({"order": 42}).json()["event"] == {"order": 42}


def test_without_a_debugger_the_runtime_runs_on_after_the_wait_and_the_images_wrapper_still_runs(
    python_image, lambda_engine, monkeypatch, announced
):
    monkeypatch.setenv(WAIT_ENV, "1")
    function = LambdaFunction(
        python_image,
        engine=lambda_engine,
        handler="handlers.echo",
        env={"AWS_LAMBDA_EXEC_WRAPPER": "/opt/wrapper.sh"},
    )
    with attach(function, True):
        invocation = function.invoke({})
        assert invocation.ok, invocation.payload
        env = invocation.json()["env"]
        assert env["WRAPPED_BY"] == "wrapper.sh"  # the image's wrapper, chained after ours
        assert "PYTEST_LAMBDA_DEBUG_PORT" not in env  # taken by the runtime: its child processes do not listen
        assert env["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "43200"  # suspended while debugging
        assert "no debugger attached within 1 s" in function.logs()


def test_a_marker_starts_the_function_for_a_debugger(pytester, python_image, monkeypatch):
    monkeypatch.setenv(WAIT_ENV, "1")
    pytester.makepyfile(
        f"""
        import pytest

        @pytest.mark.lambda_function({python_image.ref!r}, handler="handlers.echo", debug="python")
        def test_it(lambda_function):
            from pytest_lambda_image.debug import address

            assert address(lambda_function) is not None
            assert lambda_function.invoke({{}}).ok
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*lambda debug: * waits up to 1 s at its first invoke for a debugger on 127.0.0.1:*"])


def node_targets(host: str, port: int) -> list[dict]:
    connection = http.client.HTTPConnection(host, port, timeout=10)
    try:
        connection.request("GET", "/json/list")
        return json.loads(connection.getresponse().read())
    except OSError:
        return []
    finally:
        connection.close()


def test_node_waits_for_a_debugger_that_stops_the_first_invoke(node_image, lambda_engine, monkeypatch, announced):
    monkeypatch.setenv(WAIT_ENV, "60")
    function = LambdaFunction(node_image, engine=lambda_engine, handler="index.echo", timeout=1)
    with attach(function, "node"):
        host, port = address(function)
        assert "waits up to 60 s at its first invoke" in announced[0]
        thread, result = invoke_in_thread(function, {"order": 1})  # the runtime starts, and waits for us
        deadline = time.monotonic() + 30
        while not (targets := node_targets(host, port)) and time.monotonic() < deadline:
            time.sleep(0.1)
        cdp = CdpClient(host, port, targets[0]["webSocketDebuggerUrl"])
        try:
            cdp.call("Debugger.enable")
            # The function's index.mjs (the runtime client has one too, which loads first).
            cdp.call("Debugger.setBreakpointByUrl", urlRegex=r"/var/task/index\.mjs$", lineNumber=8)
            cdp.call("Runtime.runIfWaitingForDebugger")  # what VS Code sends once attached
            paused = cdp.event("Debugger.paused")  # in the first invoke: nothing ran before we were ready
            assert paused["params"]["callFrames"][0]["functionName"] == "echo"
            cdp.call("Debugger.resume")
            thread.join(30)
        finally:
            cdp.close()
        assert "error" not in result, result.get("error")
        assert result["invocation"].ok and result["invocation"].json()["event"] == {"order": 1}


def test_node_inspector_listens_and_stops_at_a_breakpoint(node_image, lambda_engine, monkeypatch, announced):
    monkeypatch.setenv(WAIT_ENV, "1")
    function = LambdaFunction(node_image, engine=lambda_engine, handler="index.echo", timeout=1)
    with attach(function, "node"):
        host, port = address(function)
        first = function.invoke({})  # the runtime, and its inspector, start at the first invoke; nobody attaches
        assert first.ok, first.payload
        assert f"--inspect-wait=0.0.0.0:{9229}" in first.json()["env"]["NODE_OPTIONS"]
        assert "no debugger came within 1 s; the Node.js runtime runs on" in announced[-1]

        connection = http.client.HTTPConnection(host, port, timeout=10)
        connection.request("GET", "/json/list")
        targets = json.loads(connection.getresponse().read())
        connection.close()
        assert targets and targets[0]["type"] == "node"

        cdp = CdpClient(host, port, targets[0]["webSocketDebuggerUrl"])
        try:
            cdp.call("Debugger.enable")
            cdp.call("Runtime.enable")
            cdp.call("Debugger.setBreakpointByUrl", urlRegex=r"index\.mjs$", lineNumber=8)  # invocations += 1
            thread, result = invoke_in_thread(function, {"order": 7})
            paused = cdp.event("Debugger.paused")
            frame = paused["params"]["callFrames"][0]
            assert frame["functionName"] == "echo"
            local = next(scope for scope in frame["scopeChain"] if scope["type"] == "local")
            properties = cdp.call("Runtime.getProperties", objectId=local["object"]["objectId"])["result"]
            event = next(p for p in properties if p["name"] == "event")
            preview = cdp.call(
                "Runtime.callFunctionOn",
                objectId=event["value"]["objectId"],
                functionDeclaration="function() { return JSON.stringify(this); }",
                returnByValue=True,
            )
            assert json.loads(preview["result"]["value"]) == {"order": 7}
            time.sleep(1.5)  # longer than the function's timeout, paused
            cdp.call("Debugger.resume")
            thread.join(30)
        finally:
            cdp.close()
        assert "error" not in result, result.get("error")
        assert result["invocation"].ok and result["invocation"].json()["event"] == {"order": 7}


def test_debug_for_a_runtime_it_cannot_tell_fails_with_one_line(scratch_image, lambda_engine):
    with pytest.raises(ConfigError, match="set lambda_debug = python or node"):
        attach(LambdaFunction(scratch_image, engine=lambda_engine), True).start()


def test_the_debugger_is_not_a_function_setting(scratch_image, lambda_engine):
    # The runtime knows no capability: debugging is debug.attach(function, setting).
    with pytest.raises(ConfigError, match=r"unknown function setting\(s\): debug"):
        LambdaFunction(scratch_image, engine=lambda_engine, debug=True)


def test_the_cli_option_starts_every_function_for_a_debugger(pytester, python_image, monkeypatch):
    monkeypatch.setenv(WAIT_ENV, "1")
    pytester.makeini("[pytest]\nlambda_handler = handlers.echo\n")
    pytester.makepyfile(
        """
        def test_it(lambda_function, lambda_settings):
            from pytest_lambda_image.debug import address

            assert address(lambda_function) is not None
            assert lambda_function.invoke({}).json()["env"]["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "43200"
        """
    )
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", f"--lambda-image={python_image.ref}", "--lambda-debug=python"
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*lambda debug: * on 127.0.0.1:*"])


def test_a_bad_debug_option_is_one_line(pytester):
    pytester.makepyfile("def test_it(lambda_settings):\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--lambda-debug=java")
    result.stdout.fnmatch_lines(["*invalid lambda_debug 'java': use auto, python or node*"])
    result.stdout.no_fnmatch_line("*Traceback*")


def test_a_runtime_started_without_the_wrapper_is_reported(python_image, lambda_engine, monkeypatch, announced):
    from pytest_lambda_image import debug

    monkeypatch.setattr(debug, "CONFIRM_AFTER_S", 3.0)
    # An entrypoint that starts the runtime itself, as many custom images do: no AWS_LAMBDA_EXEC_WRAPPER.
    function = LambdaFunction(
        python_image,
        engine=lambda_engine,
        entrypoint=["/usr/bin/python3", "-m", "awslambdaric"],
        command=["handlers.echo"],
    )
    with attach(function, "python"):
        assert "must start the runtime through AWS_LAMBDA_EXEC_WRAPPER" in announced[0]
        invocation = function.invoke({})
        assert invocation.ok, invocation.payload
        deadline = time.monotonic() + 20
        while len(announced) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert "started without debugpy" in announced[-1]
