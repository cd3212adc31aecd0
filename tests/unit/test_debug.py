import io
import tarfile
import zipfile

import pytest

from pytest_lambda_image import debug
from pytest_lambda_image.debug import parse_debug
from pytest_lambda_image.errors import ConfigError


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),
        (False, None),
        ("off", None),
        ("0", None),
        (True, "auto"),
        ("on", "auto"),
        ("1", "auto"),
        ("Python", "python"),
        ("nodejs", "node"),
        ("node:9230", "node:9230"),
        ("5678", "auto:5678"),
    ],
)
def test_the_debug_setting_is_normalized(value, expected):
    assert parse_debug(value) == expected


@pytest.mark.parametrize("value", ["java", "python:0", "python:70000", "python:x", ":"])
def test_a_bad_debug_setting_fails_with_one_line(value):
    with pytest.raises(ConfigError, match=r"invalid lambda_debug .*: use auto, python or node"):
        parse_debug(value)


def fake_wheel(tmp_path):
    wheel = tmp_path / "debugpy-0-py2.py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("debugpy/__init__.py", "")
        archive.writestr("debugpy/_vendored/pydevd/pydevd_attach_to_process/attach_x86.dll", "x")
        archive.writestr("debugpy/_vendored/pydevd/pydevd_attach_to_process/attach_linux_amd64.so", "x")
        archive.writestr("debugpy-0.dist-info/RECORD", "")
    return wheel


def test_the_python_archive_holds_the_wrapper_sitecustomize_and_debugpy_for_linux(tmp_path):
    with tarfile.open(fileobj=io.BytesIO(debug.python_archive(fake_wheel(tmp_path)))) as tar:
        members = {m.name: m for m in tar.getmembers()}
        wrapper = tar.extractfile("wrapper").read().decode()
    assert members["wrapper"].mode == 0o755
    assert set(members) == {
        "wrapper",
        "python/sitecustomize.py",
        "python/lib/debugpy/__init__.py",
        "python/lib/debugpy/_vendored/pydevd/pydevd_attach_to_process/attach_linux_amd64.so",
    }
    assert 'export PYTHONPATH="/aws-lambda-debug/python' in wrapper
    assert 'exec "$wrapper" "$@"' in wrapper  # the image's own wrapper runs next


def test_python_plan_chains_the_functions_own_wrapper_and_suspends_the_timeout(tmp_path, monkeypatch):
    monkeypatch.setattr(debug, "fetch_debugpy", lambda python=None: fake_wheel(tmp_path))
    plan = debug.plan(
        "python:5679",
        image_name="fn",
        image_env={"AWS_LAMBDA_EXEC_WRAPPER": "/opt/image-wrapper"},
        function_env={"AWS_LAMBDA_EXEC_WRAPPER": "/opt/wrapper.sh"},
        has_file=lambda path: False,
        wait_s=30,
    )
    assert (plan.kind, plan.container_port, plan.host_port) == ("python", debug.PYTHON_PORT, 5679)
    assert plan.env["AWS_LAMBDA_EXEC_WRAPPER"] == "/aws-lambda-debug/wrapper"
    assert plan.env["PYTEST_LAMBDA_DEBUG_WRAPPER"] == "/opt/wrapper.sh"
    assert plan.env["AWS_LAMBDA_FUNCTION_TIMEOUT"] == str(debug.DEBUG_TIMEOUT_S)
    assert plan.env["PYTEST_LAMBDA_DEBUG_WAIT_S"] == "30"
    assert plan.archive


def test_node_plan_adds_the_inspector_to_the_images_node_options():
    plan = debug.plan(
        "auto",
        image_name="fn",
        image_env={"AWS_EXECUTION_ENV": "AWS_Lambda_nodejs20.x", "NODE_OPTIONS": "--enable-source-maps"},
        function_env={},
        has_file=lambda path: False,
        wait_s=1,
    )
    assert plan.kind == "node" and plan.archive is None and plan.waits
    assert plan.env["NODE_OPTIONS"] == "--enable-source-maps --inspect-wait=0.0.0.0:9229"


def test_a_node_without_inspect_wait_only_listens():
    plan = debug.plan(
        "node",
        image_name="fn",
        image_env={"AWS_EXECUTION_ENV": "AWS_Lambda_nodejs18.x"},
        function_env={},
        has_file=lambda path: False,
        wait_s=1,
    )
    assert not plan.waits and plan.env["NODE_OPTIONS"] == "--inspect=0.0.0.0:9229"
    assert "does not wait for a debugger" in plan.attach_message("fn", "127.0.0.1", 9)


@pytest.mark.parametrize(
    "env, files, kind",
    [
        ({"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"}, (), "python"),
        ({"NODE_PATH": "/opt/nodejs"}, (), "node"),
        ({}, ("/usr/bin/python3",), "python"),
        ({}, ("/var/lang/bin/node",), "node"),
    ],
)
def test_the_runtime_is_told_by_the_images_env_or_files(env, files, kind):
    assert debug.runtime_kind("fn", env, lambda path: path in files) == kind


def test_an_image_with_neither_runtime_needs_the_setting_spelled_out():
    with pytest.raises(ConfigError, match="set lambda_debug = python or node"):
        debug.runtime_kind("fn", {}, lambda path: False)


def test_the_python_version_comes_from_an_aws_base_images_env():
    assert debug.python_version({"AWS_EXECUTION_ENV": "AWS_Lambda_python3.12"}) == "3.12"
    assert debug.python_version({}) is None


@pytest.mark.parametrize("raw", ["x", "0", "-5"])
def test_a_bad_wait_fails_with_one_line(raw):
    with pytest.raises(ConfigError, match="PYTEST_LAMBDA_DEBUG_WAIT"):
        debug.wait_seconds({"PYTEST_LAMBDA_DEBUG_WAIT": raw})


def test_the_attach_message_names_the_address_and_the_clients():
    python = debug.DebugPlan("python", 5678, None, 300).attach_message("fn", "127.0.0.1", 40001)
    assert "127.0.0.1:40001" in python and "VS Code" in python and "PyCharm" in python
    node = debug.DebugPlan("node", 9229, None, 300).attach_message("fn", "127.0.0.1", 40002)
    assert "127.0.0.1:40002" in node and "chrome://inspect" in node


def test_a_port_off_this_machine_is_called_out():
    plan = debug.DebugPlan("python", 5678, None, 300)
    assert "published on every interface of 10.213.0.2" in plan.attach_message("fn", "10.213.0.2", 40001)
    assert "published on every interface" not in plan.attach_message("fn", "127.0.0.1", 40001)


def test_an_entrypoint_that_may_not_run_the_wrapper_is_called_out():
    assert debug._honours_wrapper(("/lambda-entrypoint.sh",))
    assert not debug._honours_wrapper(("/usr/bin/python3", "-m", "awslambdaric"))
    assert not debug._honours_wrapper(None) and not debug._honours_wrapper(())
