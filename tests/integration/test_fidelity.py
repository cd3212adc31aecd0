"""Runs like Lambda: every row fails without the sandbox (Lambda's user, a
read-only root, /tmp on disk with no file past its size, a memory limit
without swap, CPU for the memory, Lambda's fd and thread limits, Lambda's
environment), and `fidelity=False` gives back a plain `docker run`."""

from __future__ import annotations

import errno
import re
import time

import pytest

from pytest_lambda_image import ConfigError, LambdaFunction, Outcome
from pytest_lambda_image._runtime import cleanup

from ..conftest import session_containers as _containers

WRITES = ["/var/task/new.txt", "/opt/new.txt", "/etc/new.txt", "/tmp/new.txt"]


def test_runs_as_lambdas_user_whatever_the_image_says(python_image, lambda_function_factory):
    body = lambda_function_factory(python_image, handler="handlers.probe").invoke({}).raise_for_error().json()
    assert (body["uid"], body["gid"]) == (993, 990)


def test_root_filesystem_is_read_only_and_tmp_is_writable(python_image, lambda_function_factory):
    body = lambda_function_factory(python_image, handler="handlers.probe").invoke({"write": WRITES}).json()
    assert body["writes"] == {
        "/var/task/new.txt": "Read-only file system",
        "/opt/new.txt": "Read-only file system",
        "/etc/new.txt": "Read-only file system",
        "/tmp/new.txt": "ok",
    }


def test_no_shared_memory_as_on_lambda(python_image, lambda_function_factory):
    body = lambda_function_factory(python_image, handler="handlers.probe").invoke({}).json()
    assert body["multiprocessing_lock"] != "ok"  # multiprocessing.Lock() fails on Lambda too


def test_tmp_is_disk_not_memory(python_image, lambda_function_factory):
    """On Lambda /tmp is storage apart from memory: 300 MB fit at 128 MB."""
    # timeout: 300 MB at 128 MB's CPU share takes seconds on a busy machine; this is about memory
    function = lambda_function_factory(python_image, handler="handlers.write_tmp", memory_size=128, timeout=60)
    result = function.invoke({"mb": 300})
    assert result.ok, result.text
    assert result.json() == {"written_mb": 300}
    again = function.invoke({"mb": 300})  # the same runtime: nothing was killed
    assert again.json() == {"written_mb": 300} and again.report.init_duration_ms is None


@pytest.mark.parametrize("size", [None, 1024])
def test_no_file_outgrows_the_ephemeral_storage(python_image, lambda_function_factory, size):
    """Writing past the ephemeral storage is a write error the function sees,
    not an OOM kill (EFBIG from the file size limit: see docs/runtime.rst)."""
    settings = {} if size is None else {"ephemeral_storage": size}
    # Writing a GB at 128 MB's CPU share takes a while: the storage is what is tested here.
    function = lambda_function_factory(python_image, handler="handlers.write_tmp", cpu_scaling=False, **settings)
    result = function.invoke({"mb": (size or 512) + 100})
    assert result.ok, result.text
    body = result.json()
    assert (body["errno"], body["written_mb"]) == (errno.EFBIG, size or 512)


def test_tmp_belongs_to_the_function_as_on_lambda(python_image, lambda_function_factory):
    function = lambda_function_factory(python_image, handler="handlers.probe")
    result = function.invoke({"write": ["/tmp/new.txt"]}).json()
    assert result["writes"] == {"/tmp/new.txt": "ok"}
    info = function.exec(["stat", "-c", "%a %u %g", "/tmp"]).output.decode().split()
    assert info == ["700", "993", "990"]


def test_tmp_goes_with_its_function(python_image, lambda_function_factory, lambda_engine):
    function = lambda_function_factory(python_image, handler="handlers.write_tmp")
    assert function.invoke({"mb": 1}).ok
    container_id = function.get_wrapped_container().id
    (volume,) = [
        m["Name"]
        for m in lambda_engine.client.api.inspect_container(container_id)["Mounts"]
        if m["Destination"] == "/tmp"
    ]
    labels = lambda_engine.client.api.inspect_volume(volume)["Labels"]
    assert labels["pytest-lambda-image.session"] == cleanup.SESSION_ID
    function.stop()
    assert not lambda_engine.client.api.volumes(filters={"name": volume}).get("Volumes")


@pytest.mark.parametrize(("handler", "key"), [("handlers.open_files", "opened"), ("handlers.start_threads", "started")])
def test_lambdas_limits_on_files_and_threads(python_image, lambda_function_factory, handler, key):
    """Lambda allows 1,024 file descriptors and 1,024 processes and threads."""
    # 1,000 threads start slowly on 128 MB's CPU share: the limits are what is tested here.
    function = lambda_function_factory(python_image, handler=handler, cpu_scaling=False, timeout=30)
    assert function.invoke({"n": 1000}).json() == {key: 1000}
    over = function.invoke({"n": 1100}).json()
    assert over[key] < 1024
    if key == "opened":
        assert over["errno"] == errno.EMFILE
    else:
        assert over["error"] == "can't start new thread"
    assert function.invoke({"n": 1000}).json() == {key: 1000}  # released: the same runtime goes on


def test_no_such_limits_without_fidelity(python_image, lambda_function_factory):
    function = lambda_function_factory(python_image, handler="handlers.open_files", fidelity=False)
    assert function.invoke({"n": 1100}).json() == {"opened": 1100}


def test_cpu_bound_work_times_out_at_128_mb_as_on_lambda(python_image, lambda_function_factory):
    """0.3 s of CPU is 4 s at 128 MB's share (1/13.8 of a vCPU): past a 3 s timeout."""
    function = lambda_function_factory(python_image, handler="handlers.burn_cpu", memory_size=128, timeout=3)
    assert function.invoke({"cpu_s": 0.3}).outcome is Outcome.TIMEOUT
    unscaled = lambda_function_factory(python_image, handler="handlers.burn_cpu", timeout=3, cpu_scaling=False)
    assert unscaled.invoke({"cpu_s": 0.3}).ok


def test_memory_limit_kills_like_lambda_then_recovers(python_image, lambda_function_factory):
    function = lambda_function_factory(python_image, handler="handlers.allocate", memory_size=128)
    killed = function.invoke({"mb": 300})

    assert killed.outcome is Outcome.RUNTIME_EXIT and not killed.ok
    assert killed.error_type == "Runtime.OutOfMemory"
    assert "signal: killed" in killed.error_message
    # Lambda's REPORT for a killed invoke: memory at the limit, why it ended
    assert killed.report is not None and killed.report.max_memory_used_mb == 128
    (report,) = [line for line in killed.logs if line.startswith("REPORT RequestId: ")]
    assert report.startswith(f"REPORT RequestId: {killed.request_id}\tDuration: ")
    assert report.endswith("Max Memory Used: 128 MB\tStatus: error\tError Type: Runtime.OutOfMemory")
    after = function.invoke({"mb": 10})  # a new runtime is initialised
    assert after.ok and after.json() == 10
    assert after.report.init_duration_ms is not None
    # a new environment: its peak is its own, not the killed one's 128 MB
    assert after.report.max_memory_used_mb < 100, after.report


def test_the_logs_report_what_the_report_says(python_image, lambda_function_factory):
    function = lambda_function_factory(python_image, handler="handlers.allocate", memory_size=512)
    result = function.invoke({"mb": 200})
    report = result.report
    (line,) = [line for line in result.logs if line.startswith("REPORT RequestId: ")]
    assert f"Max Memory Used: {report.max_memory_used_mb} MB" in line and report.max_memory_used_mb < 512
    assert f"Init Duration: {report.init_duration_ms:.2f} ms" in line  # the real one, from INIT REPORT
    assert line.index("Max Memory Used") < line.index("Init Duration")  # Lambda's order
    warm = function.invoke({"mb": 1})
    (line,) = [line for line in warm.logs if line.startswith("REPORT RequestId: ")]
    assert "Init Duration" not in line


def test_the_same_allocation_fits_in_more_memory(python_image, lambda_function_factory):
    result = lambda_function_factory(python_image, handler="handlers.allocate", memory_size=512).invoke({"mb": 300})
    assert result.ok and result.json() == 300
    # The real peak from the container's memory cgroup, not the RIE's echo of the setting.
    assert 300 <= result.report.max_memory_used_mb < 512


def test_container_has_the_limits(python_image, lambda_function_factory, lambda_engine):
    function = lambda_function_factory(python_image, memory_size=256)
    api = lambda_engine.client.api
    container_id = function.get_wrapped_container().id
    host = api.inspect_container(container_id)["HostConfig"]
    assert host["Memory"] == host["MemorySwap"] == 256 * 1024 * 1024  # no swap
    assert host["ReadonlyRootfs"] is True
    assert host["PidsLimit"] == 1024
    assert {u["Name"]: u["Hard"] for u in host["Ulimits"]}["nofile"] == 1024
    assert host["CpuQuota"] == 0  # init runs with the engine's CPU (Lambda's init burst)
    function.invoke({}).raise_for_error()
    deadline = time.monotonic() + 5
    while api.inspect_container(container_id)["HostConfig"]["CpuQuota"] != 14471 and time.monotonic() < deadline:
        time.sleep(0.05)  # set in the background as the invoke starts
    assert api.inspect_container(container_id)["HostConfig"]["CpuQuota"] == 14471  # 256/1769 of 100 ms


def test_environment_lambda_sets_for_image_functions(python_image, lambda_function_factory):
    env = lambda_function_factory(python_image, function_name="orders").invoke({}).json()["env"]
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_Image"
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/orders"
    assert re.fullmatch(r"\d{4}/\d\d/\d\d/\[\$LATEST\][0-9a-f]{32}", env["AWS_LAMBDA_LOG_STREAM_NAME"])
    assert env["AWS_LAMBDA_FUNCTION_VERSION"] == "$LATEST"
    assert env["AWS_LAMBDA_INITIALIZATION_TYPE"] == "on-demand"
    assert env["LAMBDA_TASK_ROOT"] == "/var/task"


def test_json_logs_as_records(python_image, lambda_function_factory):
    function = lambda_function_factory(python_image, handler="handlers.log_levels", log_format="JSON", log_level="INFO")
    result = function.invoke({"order_id": "o-1"})
    records = result.log_records
    messages = [(r["level"], r["message"]) for r in records if r.get("logger") == "orders"]
    assert messages == [("INFO", "order stored"), ("WARNING", "stock low")]  # Python's level names
    stored = next(r for r in records if r.get("message") == "order stored")
    assert stored["requestId"] == result.request_id and stored["order_id"] == "o-1"


def test_fidelity_off_is_a_plain_docker_run(python_image, lambda_function_factory, lambda_engine):
    function = lambda_function_factory(python_image, handler="handlers.probe", fidelity=False)
    body = function.invoke({"write": WRITES}).json()
    assert body["uid"] == 0
    assert set(body["writes"].values()) == {"ok"}
    host = lambda_engine.client.api.inspect_container(function.get_wrapped_container().id)["HostConfig"]
    assert host["Memory"] == 0 and host["ReadonlyRootfs"] is False
    allocate = lambda_function_factory(python_image, handler="handlers.allocate", fidelity=False)
    assert allocate.invoke({"mb": 300}).ok  # no memory limit at 128 MB


def test_another_non_root_user(python_image, lambda_function_factory):
    body = lambda_function_factory(python_image, handler="handlers.probe", user="1000:1000").invoke({}).json()
    assert (body["uid"], body["gid"]) == (1000, 1000)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"ephemeral_storage": 256}, "from 512 to 10240"),
        ({"ephemeral_storage": 20000}, "from 512 to 10240"),
        ({"memory_size": 64}, "from 128 to 10240"),
        ({"timeout": 2.5}, "whole number of seconds"),
        ({"timeout": 0}, "whole number of seconds"),
        ({"user": "0:0"}, "Lambda never runs functions as root"),
        ({"user": "root"}, "numeric uid:gid"),
        ({"env": {"AWS_REGION": "eu-west-1"}}, "AWS_REGION is reserved by Lambda .*region setting"),
        ({"env": {"AWS_LAMBDA_FUNCTION_NAME": "x"}}, "reserved by Lambda"),
        ({"env": {"BIG": "x" * 5000}}, "Lambda refuses a configuration over 4096 bytes"),
        ({"env": {"BIG": "é" * 2100}}, "take 4203 bytes; Lambda refuses"),  # 2,103 characters
        ({"log_format": "XML"}, "use one of Text, JSON"),
    ],
)
def test_bad_settings_fail_before_any_container(python_image, lambda_engine, settings, message):
    before = _containers(lambda_engine)
    with pytest.raises(ConfigError, match=message):
        LambdaFunction(python_image, engine=lambda_engine, **settings)
    assert _containers(lambda_engine) <= before  # none new (earlier tests' may be going in the background)


def test_reserved_names_are_fine_without_fidelity(python_image, lambda_function_factory):
    env = lambda_function_factory(python_image, fidelity=False, env={"AWS_REGION": "eu-west-1"}).invoke({}).json()
    assert env["env"]["AWS_REGION"] == "eu-west-1"
