import datetime
import io
import re
import tarfile

import pytest

from pytest_lambda_image import ConfigError, FunctionConfig
from pytest_lambda_image._runtime.cpu import CpuShare
from pytest_lambda_image._runtime.sandbox import (
    cpu_quota,
    lambda_environment,
    log_stream_name,
    sandbox_options,
    tmp_root_archive,
)


def test_fidelity_options():
    options = sandbox_options(FunctionConfig(memory_size=256, ephemeral_storage=1024, cpu_scaling=False))
    assert options["user"] == "993:990"
    assert options["read_only"] is True
    assert options["mem_limit"] == options["memswap_limit"] == "256m"
    assert "/tmp" not in options["tmpfs"]  # a tmpfs counts against the memory limit: a volume instead
    assert options["tmpfs"]["/dev/shm"].startswith("ro,")
    assert "nano_cpus" not in options


def test_lambdas_process_limits():
    options = sandbox_options(FunctionConfig(ephemeral_storage=1024))
    limits = {limit["Name"]: (limit["Soft"], limit["Hard"]) for limit in options["ulimits"]}
    assert limits == {"nofile": (1024, 1024), "fsize": (1024 * 1024 * 1024,) * 2}  # no file outgrows /tmp
    assert options["pids_limit"] == 1024  # the container's pids cgroup, not RLIMIT_NPROC (per uid, host-wide)


def test_cpu_scaling_is_on_by_default_and_off_on_request():
    assert FunctionConfig().cpu_scaling is True
    assert FunctionConfig(cpu_scaling="false").cpu_scaling is False
    # Created without a quota either way: init runs with the engine's CPU (cpu.py throttles the invokes).
    assert "nano_cpus" not in sandbox_options(FunctionConfig())


def test_the_invokes_share_and_inits_follow_the_rie():
    calls = []

    class Api:
        def update_container(self, container, **quota):
            calls.append((container, quota))

    client = type("Client", (), {"api": Api()})()
    share = CpuShare(client, "c1", cpu_quota(128, 2), 2 * 10**9)
    for phase in ("init", "invoke", "invoke", "init", "invoke", "invoke"):
        share.phase(phase)
    share.close()
    share._worker.join(5)
    assert [quota["cpu_quota"] for _, quota in calls] == [7235, 200000, 7235]  # only on a change
    assert {container for container, _ in calls} == {"c1"}
    assert all(quota["cpu_period"] == 100_000 for _, quota in calls)


def test_tmp_root_belongs_to_the_functions_user():
    with tarfile.open(fileobj=io.BytesIO(tmp_root_archive(FunctionConfig(user="1000:1001")))) as tar:
        (root,) = tar.getmembers()
    assert root.name.strip("/") == ""  # the directory the archive is put in
    assert (root.isdir(), root.mode, root.uid, root.gid) == (True, 0o700, 1000, 1001)


def test_no_fidelity_no_options():
    assert sandbox_options(FunctionConfig(fidelity=False)) == {}


@pytest.mark.parametrize(
    ("memory", "cpus", "nano"),
    [(1769, None, 10**9), (128, None, 72357263), (10240, 2, 2 * 10**9), (10240, 8, int(10240 * 10**9 / 1769))],
)
def test_cpu_in_proportion_to_memory(memory, cpus, nano):
    assert cpu_quota(memory, cpus) == nano


def test_log_stream_name_has_lambdas_form():
    name = log_stream_name(datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone.utc))
    assert re.fullmatch(r"2026/01/02/\[\$LATEST\][0-9a-f]{32}", name)


def test_environment_under_fidelity():
    env = lambda_environment(FunctionConfig(env={"STAGE": "test"}, log_format="json"), "orders", {})
    assert env["AWS_LAMBDA_LOG_GROUP_NAME"] == "/aws/lambda/orders"
    assert env["AWS_EXECUTION_ENV"] == "AWS_Lambda_Image"
    assert env["AWS_LAMBDA_LOG_FORMAT"] == "JSON"
    assert env["STAGE"] == "test"


def test_an_aws_base_image_keeps_its_own_execution_env_and_roots():
    image_env = {"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12", "LAMBDA_TASK_ROOT": "/var/task"}
    env = lambda_environment(FunctionConfig(), "fn", image_env)
    assert "AWS_EXECUTION_ENV" not in env and "LAMBDA_TASK_ROOT" not in env


def test_environment_without_fidelity_is_the_plain_one():
    env = lambda_environment(FunctionConfig(fidelity=False), "fn", {})
    assert "AWS_LAMBDA_LOG_GROUP_NAME" not in env and "AWS_EXECUTION_ENV" not in env
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "fn"


def test_host_credentials_only_when_asked():
    host = {"AWS_ACCESS_KEY_ID": "AKIAHOST", "AWS_SECRET_ACCESS_KEY": "s"}
    assert "AWS_ACCESS_KEY_ID" not in lambda_environment(FunctionConfig(), "fn", {}, host_env=host)
    env = lambda_environment(FunctionConfig(pass_aws_credentials=True), "fn", {}, host_env=host)
    assert env["AWS_ACCESS_KEY_ID"] == "AKIAHOST"


def test_role_credentials_may_be_given_under_fidelity():
    config = FunctionConfig(env={"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"})
    assert config.env["AWS_ACCESS_KEY_ID"] == "testing"


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"env": {"_HANDLER": "x"}}, "_HANDLER is reserved by Lambda .*handler setting"),
        ({"env": {"LAMBDA_TASK_ROOT": "/x"}}, "LAMBDA_TASK_ROOT is reserved"),
        ({"user": "0"}, "root"),
        ({"user": "a:b"}, "numeric uid:gid"),
        ({"ephemeral_storage": "lots"}, "512 to 10240"),
        ({"fidelity": "maybe"}, "use true or false"),
        ({"log_level": "LOUD"}, "TRACE, DEBUG, INFO, WARN, ERROR, FATAL"),
    ],
)
def test_bad_values(settings, message):
    with pytest.raises(ConfigError, match=message):
        FunctionConfig(**settings)


def test_values_from_ini_strings():
    config = FunctionConfig(
        fidelity="false", cpu_scaling="yes", ephemeral_storage="2048", user="1000", log_level="info"
    )
    assert (config.fidelity, config.cpu_scaling, config.ephemeral_storage, config.user, config.log_level) == (
        False,
        True,
        2048,
        "1000:1000",
        "INFO",
    )
    assert FunctionConfig(fidelity=False, user="0:0").user == "0:0"  # root is a plain docker run's business
