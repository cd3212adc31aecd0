"""Look-ahead: the next marked test's fresh container starts while the test
before it runs; what no test takes is removed, also on Ctrl-C."""

from __future__ import annotations

import os
import signal

# Helpers the inner tests share: when a container was created, and which
# containers of this session exist (after the background removals are done).
INNER_HELPERS = """
import datetime
import time

import pytest

from pytest_lambda_image._runtime import cleanup

def created(function):
    stamp = function.get_wrapped_container().attrs["Created"]
    return datetime.datetime.fromisoformat(stamp[:26].rstrip("Z")).replace(tzinfo=datetime.timezone.utc).timestamp()

def who_exists(engine):
    cleanup.flush()
    found = set()
    mine = {"label": f"{cleanup.LABEL_SESSION}={cleanup.SESSION_ID}"}
    for item in engine.client.api.containers(all=True, filters=mine):
        env = engine.client.api.inspect_container(item["Id"])["Config"]["Env"] or []
        found.update(e.split("=", 1)[1] for e in env if e.startswith("WHO="))
    return found
"""


def test_a_marked_test_takes_the_container_started_ahead(project):
    project.ini()
    project.tests(
        INNER_HELPERS
        + """
def test_warm_first(lambda_function):
    lambda_function.invoke({})  # the session now has its engine and image
    time.sleep(1.5)  # time for the next test's container to start

@pytest.mark.lambda_function(env={"WHO": "second"})
def test_second(lambda_function):
    began = time.time()
    assert created(lambda_function) < began - 0.5  # started during test_warm_first
    assert lambda_function.invoke({}).json()["env"]["WHO"] == "second"

@pytest.mark.skip(reason="never runs")
@pytest.mark.lambda_function(env={"WHO": "skipped"})
def test_skipped(lambda_function):
    pass

@pytest.mark.lambda_function(env={"WHO": "deselected"})
def test_deselected(lambda_function):
    pass

def test_after(lambda_function, lambda_engine):
    # test_skipped's container was started ahead, not taken, and removed; nothing
    # was started for the deselected test; test_second's went with its test.
    assert who_exists(lambda_engine) == set()
"""
    )

    result = project.run("-k", "not deselected", "-v")

    result.assert_outcomes(passed=3, skipped=1, deselected=1)
    assert project.leftovers() == []


def test_a_test_that_asks_for_other_settings_gets_its_own(project):
    project.ini("lambda_lookahead = true\n")
    project.tests(
        INNER_HELPERS
        + """
def test_first(lambda_function, request):
    lambda_function.invoke({})
    time.sleep(1.5)

@pytest.mark.lambda_function(env={"WHO": "marked"})
def test_uses_the_factory_instead(lambda_function_factory, lambda_engine):
    # The container started ahead for this test's marker is not what the factory
    # is asked for here: the factory starts its own, the other goes at the test's end.
    function = lambda_function_factory(env={"WHO": "factory"})
    assert function.invoke({}).json()["env"]["WHO"] == "factory"

def test_after(lambda_function, lambda_engine):
    assert who_exists(lambda_engine) == set()
"""
    )

    project.run().assert_outcomes(passed=3)
    assert project.leftovers() == []


def test_lookahead_can_be_turned_off(project):
    project.ini("lambda_lookahead = false\n")
    project.tests(
        INNER_HELPERS
        + """
def test_first(lambda_function):
    lambda_function.invoke({})
    time.sleep(1)

@pytest.mark.lambda_function(env={"WHO": "second"})
def test_second(lambda_function):
    assert created(lambda_function) > time.time() - 5 and created(lambda_function) >= START[0] - 0.5

START = [0.0]

@pytest.fixture(autouse=True)
def began():
    START[0] = time.time()
"""
    )

    project.run().assert_outcomes(passed=2)


def test_ctrl_c_while_a_container_starts_ahead_leaves_nothing(project):
    project.ini()
    project.tests(
        f"""
        import time
        import pytest

        def test_waits(lambda_function):
            lambda_function.invoke({{}})

        @pytest.mark.lambda_function(env={{"WHO": "ahead"}})
        def test_interrupted(lambda_function):
            open({str(project.ready_file)!r}, "w").close()
            time.sleep(60)

        @pytest.mark.lambda_function(env={{"WHO": "never"}})
        def test_never(lambda_function):
            pass
        """
    )
    process = project.start_until_ready()
    # test_never's container is starting ahead right now
    os.kill(process.pid, signal.SIGINT)
    try:
        process.wait(timeout=120)  # a loaded CI machine is slow to unwind
    finally:
        if process.poll() is None:
            process.kill()
    assert project.leftovers() == []
