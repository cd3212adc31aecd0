"""Lambda's phases on real images: an on-demand init has its own 10 s outside
the first invoke's timeout; one over that is stopped and run again inside the
first invoke under the function timeout; each invoke's timeout (and its
Lambda-Runtime-Deadline-Ms) runs from the moment the runtime gets it. The RIE
alone counts the init against the first invoke's timeout; the trace relay
keeps the phases."""

from __future__ import annotations

import time

import pytest

from pytest_lambda_image import LambdaFunction, Outcome


def test_a_slow_init_does_not_count_against_the_first_invoke_go(go_image):
    with LambdaFunction(go_image, timeout=3, env={"INIT_SLEEP_S": "5"}) as fn:
        cold = fn.invoke({"action": "echo"})
        assert cold.ok, cold.payload  # the RIE alone: Task timed out after 3.00 seconds
        body = cold.json()
        assert body["timeout_env"] == "3"  # the function's own timeout, not the RIE's longer timer
        remaining = int(body["deadline_ms"]) - body["now_ms"]
        assert 2000 < remaining <= 3000  # counted from the invoke, not from the init
        assert cold.report.init_duration_ms >= 5000
        assert any(line.startswith("REPORT RequestId") for line in cold.logs)


def test_a_slow_init_does_not_count_against_the_first_invoke_python(python_image):
    with LambdaFunction(python_image, handler="handlers.echo", timeout=3, env={"INIT_SLEEP_S": "4"}) as fn:
        cold = fn.invoke({})
        assert cold.ok, cold.payload
        assert 2000 < cold.json()["remaining_ms"] <= 3000
        assert cold.report.init_duration_ms >= 4000


def test_the_function_timeout_still_holds_for_each_invoke(go_image):
    with LambdaFunction(go_image, timeout=2) as fn:
        assert fn.invoke({"action": "echo"}).ok
        started = time.monotonic()
        late = fn.invoke({"action": "sleep", "seconds": 6})
        took = time.monotonic() - started
        assert late.outcome is Outcome.TIMEOUT and late.status_code == 200
        assert late.json() == {
            "errorType": "Sandbox.Timedout",
            "errorMessage": f"RequestId: {late.request_id} Error: Task timed out after 2.00 seconds",
        }
        assert 1.9 < took < 4.5  # at the function timeout, not at the RIE's longer timer
        assert late.report is not None and late.report.duration_ms == pytest.approx(2000, abs=300)
        assert any("Task timed out after 2.00 seconds" in line for line in late.logs)
        assert fn.invoke({"action": "echo"}).ok  # a new environment


def test_an_init_over_its_budget_is_retried_inside_the_invoke_under_the_timeout(go_image):
    # Lambda: the init is stopped at 10 s and run again in the first invoke, where
    # init and invoke together get the function timeout (3 s): it times out.
    with LambdaFunction(go_image, timeout=3, env={"INIT_SLEEP_S": "11"}) as fn:
        started = time.monotonic()
        cold = fn.invoke({"action": "echo"})
        took = time.monotonic() - started
        assert cold.outcome is Outcome.TIMEOUT, (cold.status_code, cold.payload)
        assert 9.5 < took < 14  # at the end of the init budget: a retry cannot fit 3 s (Lambda says so 3 s later)
        assert any("Phase: init" in line and "Status: timeout" in line for line in cold.logs), cold.logs


def test_an_init_over_its_budget_succeeds_when_its_retry_fits_the_timeout(go_image):
    # 11 s of init, a 15 s timeout: Lambda's retry (init again, then the handler) fits.
    with LambdaFunction(go_image, timeout=15, env={"INIT_SLEEP_S": "11"}) as fn:
        cold = fn.invoke({"action": "echo"})
        assert cold.ok, cold.payload
        body = cold.json()
        assert int(body["deadline_ms"]) - body["now_ms"] <= 4000  # init and invoke share the timeout
        assert any("Phase: init" in line and "Status: timeout" in line for line in cold.logs), cold.logs
