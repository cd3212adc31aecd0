"""The plugin against a Docker engine that is not this machine's: dockerd in a
network namespace, reached over tcp://, a docker context and ssh://
(scripts/remote-engine.sh). Nothing is bind-mounted, published ports live at
the engine's address, and the AWS backend runs moto in a container there."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from pytest_lambda_image import (
    BuildSpec,
    DockerEngine,
    DockerUnavailableError,
    FunctionStartError,
    InvokeError,
    LambdaFunction,
    build_image,
)
from pytest_lambda_image._runtime import cleanup
from pytest_lambda_image._runtime.remote import SshBridge

from ..conftest import BASE_IMAGE, EXAMPLES, IMAGES

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "remote-engine.sh"
NAMESPACE = ["ip", "netns", "exec", "pli-remote"]
SSH_HOST = "ssh://root@10.213.0.2"


@pytest.fixture
def remote_engine(base_image, moto_server_image):
    """The engine's DOCKER_HOST, with the stand-in base and moto's image
    loaded into it (it reaches no registry either); stopped afterwards."""
    yield from _remote_engine_with(BASE_IMAGE, moto_server_image.ref)


@pytest.fixture
def remote_engine_with_base(base_image):
    """The same engine with only the stand-in base loaded."""
    yield from _remote_engine_with(BASE_IMAGE)


def _remote_engine_with(*tags: str) -> Iterator[str]:
    started = subprocess.run([str(SCRIPT), "start"], capture_output=True, text=True)
    if started.returncode != 0:
        pytest.fail(f"could not start the remote engine: {started.stderr}", pytrace=False)
    url = started.stdout.strip()
    try:
        for tag in tags:
            save = subprocess.Popen(["docker", "save", tag], stdout=subprocess.PIPE)
            subprocess.run(["docker", "-H", url, "load", "-q"], stdin=save.stdout, check=True, capture_output=True)
            assert save.wait() == 0
        yield url
    finally:
        subprocess.run([str(SCRIPT), "stop"], capture_output=True)


def plugin_containers(url: str) -> list[str]:
    client = docker.DockerClient(base_url=url)
    try:
        found = client.api.containers(all=True, filters={"label": "pytest-lambda-image=true"})
        networks = client.api.networks(filters={"label": "pytest-lambda-image=true"})
        volumes = client.api.volumes(filters={"label": "pytest-lambda-image=true"}).get("Volumes") or []
        return [c["Names"][0] for c in found] + [n["Name"] for n in networks] + [v["Name"] for v in volumes]
    finally:
        client.close()


def test_function_repos_against_a_remote_engine(pytester, remote_engine, moto_server_image, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", remote_engine)
    monkeypatch.delenv("TESTCONTAINERS_RYUK_DISABLED", raising=False)

    # The orders example as is: built there (its context uploaded), moto in a
    # container on the engine's network, functions reached at the engine's address.
    orders = pytester.path / "orders"
    shutil.copytree(EXAMPLES / "orders-function", orders)
    (orders / "pyproject.toml").write_text(
        (orders / "pyproject.toml").read_text() + f'lambda_aws_image = "{moto_server_image.ref}"\n'
    )
    result = pytester.runpytest_subprocess(
        str(orders), "--rootdir", str(orders), "-c", str(orders / "pyproject.toml"), "-p", "no:cacheprovider",
        "-n", "2", f"--lambda-build-arg=BASE_IMAGE={BASE_IMAGE}", timeout=600,
    )  # fmt: skip
    result.assert_outcomes(passed=5)
    assert plugin_containers(remote_engine) == []

    # A fresh container per marked test, the local gateway and the audit (read through the engine's API).
    function = pytester.path / "fn"
    shutil.copytree(IMAGES / "python-fn", function)
    (function / "test_remote.py").write_text(
        '''
import pytest
import requests


def test_invoke_and_logs(lambda_function):
    result = lambda_function.invoke({"x": 1})
    assert result.ok and result.json()["event"] == {"x": 1}
    assert not lambda_function.endpoint.startswith("http://127.0.0.1")
    assert any("echo invoked" in line for line in result.logs)


@pytest.mark.lambda_function(handler="handlers.proxy")
def test_gateway(lambda_gateway_url):
    answer = requests.get(f"{lambda_gateway_url}/items/7?q=1", timeout=30)
    assert answer.status_code == 200 and answer.json()["path"] == "/items/7"


def test_audit(lambda_audit):
    lambda_audit().assert_no_credentials()
'''
    )
    (function / "pytest.ini").write_text(
        f"[pytest]\nlambda_dockerfile = Dockerfile\nlambda_build_args = BASE_IMAGE={BASE_IMAGE}\n"
    )
    result = pytester.runpytest_subprocess(
        str(function), "--rootdir", str(function), "-c", str(function / "pytest.ini"), "-p", "no:cacheprovider",
        timeout=600,
    )  # fmt: skip
    result.assert_outcomes(passed=3)
    assert plugin_containers(remote_engine) == []

    # A docker context instead of DOCKER_HOST, as `docker context use` leaves it.
    config = pytester.path / "docker-config"
    config.mkdir()
    monkeypatch.setenv("DOCKER_CONFIG", str(config))
    create = ["docker", "context", "create", "pli-remote", "--docker", f"host={remote_engine}"]
    subprocess.run(create, check=True, capture_output=True)
    monkeypatch.delenv("DOCKER_HOST")
    monkeypatch.setenv("DOCKER_CONTEXT", "pli-remote")
    result = pytester.runpytest_subprocess(
        str(function), "--rootdir", str(function), "-c", str(function / "pytest.ini"), "-p", "no:cacheprovider",
        "-k", "invoke_and_logs", timeout=600,
    )  # fmt: skip
    result.assert_outcomes(passed=1, deselected=2)
    assert plugin_containers(remote_engine) == []

    # Over ssh:// as to a build host: the script's own key, ssh config and
    # known_hosts (its `ssh` first on PATH), never ~/.ssh.
    monkeypatch.delenv("DOCKER_CONTEXT")
    ssh = subprocess.run([str(SCRIPT), "ssh"], capture_output=True, text=True)
    assert ssh.returncode == 0, ssh.stderr
    monkeypatch.setenv("PATH", f"{ssh.stdout.strip()}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DOCKER_HOST", SSH_HOST)
    killed, leaked = killed_session_leaves(function, remote_engine)
    assert leaked and set(leaked) <= set(plugin_containers(remote_engine))

    # The next session reaps them (the killed pytest ran here: its pid is checked here, not on the
    # engine's host), builds once for four workers (a new build argument: built over ssh), and
    # invokes, gateways and audits there.
    (function / "test_remote.py").write_text(
        (function / "test_remote.py").read_text()
        + """

@pytest.mark.parametrize("n", range(5))
def test_over_ssh(lambda_function, n):
    assert lambda_function.invoke({}).json()["env"]["GREETING"] == "over-ssh"
    assert lambda_function.endpoint.startswith("http://10.213.0.2:")
"""
    )
    (function / "conftest.py").write_text(
        """
import os

import pytest


@pytest.fixture(autouse=True)
def record_build(request, lambda_image, worker_id):
    name = request.node.name.replace("/", "_")
    with open(os.path.join(os.path.dirname(__file__), f"built-{worker_id}-{name}"), "w") as record:
        record.write(f"{lambda_image.built} {lambda_image.id}")
"""
    )
    result = pytester.runpytest_subprocess(
        str(function), "--rootdir", str(function), "-c", str(function / "pytest.ini"), "-p", "no:cacheprovider",
        "-n", "4", "--lambda-build-arg=GREETING=over-ssh", timeout=600,
    )  # fmt: skip
    result.assert_outcomes(passed=8)
    records = {path.name: path.read_text().split() for path in function.glob("built-gw*")}
    assert len(records) == 8 and len({image for _, image in records.values()}) == 1
    builders = {name.split("-")[1] for name, (built, _) in records.items() if built == "True"}
    assert len(builders) == 1  # one worker built it, the others reused it
    assert plugin_containers(remote_engine) == []
    # The killed session's ssh login ends once nothing of it is left there (its log streams held
    # it open), and its socket directory is gone.
    deadline = time.monotonic() + 30
    while any(f"pytest-lambda-ssh-{killed}-".encode() in cmdline for cmdline in command_lines()):
        assert time.monotonic() < deadline, "the killed session's ssh login is still there"
        time.sleep(0.2)
    assert not list(Path(tempfile.gettempdir()).glob(f"pytest-lambda-ssh-{killed}-*"))

    # Without BuildKit: the docker SDK uploads the context through ssh itself.
    result = pytester.runpytest_subprocess(
        str(function), "--rootdir", str(function), "-c", str(function / "pytest.ini"), "-p", "no:cacheprovider",
        "-o", "lambda_builder=legacy", "--lambda-build-arg=GREETING=legacy", "-k", "invoke_and_logs", timeout=600,
    )  # fmt: skip
    result.assert_outcomes(passed=1, deselected=7)
    result.stdout.fnmatch_lines(["lambda image: * (built with legacy, * s)"])
    assert plugin_containers(remote_engine) == []
    without_a_socket_forward(monkeypatch)
    assert plugin_containers(remote_engine) == []
    ssh_failures_say_what_to_check(monkeypatch)

    # Last, as it ends the engine (one test: two would each start and stop it).
    monkeypatch.setenv("DOCKER_HOST", remote_engine)
    failures_say_what_to_check(remote_engine, monkeypatch)


def killed_session_leaves(function: Path, remote_engine: str) -> tuple[int, list[str]]:
    """A session killed with SIGKILL while its function runs: nothing of it
    gets to clean up. Returns its pid and the containers it left."""
    marker = function / "started"
    (function / "test_killed.py").write_text(
        f"""
import time


def test_hold(lambda_function):
    lambda_function.invoke({{}})
    open({str(marker)!r}, "w").close()
    time.sleep(600)
"""
    )
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-c", str(function / "pytest.ini")]
    session = subprocess.Popen(
        [*command, "--rootdir", str(function), str(function / "test_killed.py")],
        cwd=function, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while not marker.exists():
            assert session.poll() is None and time.monotonic() < deadline, "the session to kill did not start"
            time.sleep(0.2)
    finally:
        os.kill(session.pid, signal.SIGKILL)
        session.wait()
        (function / "test_killed.py").unlink()
    client = docker.DockerClient(base_url=remote_engine)
    try:
        found = client.api.containers(all=True, filters={"label": f"pytest-lambda-image.pid={session.pid}"})
        return session.pid, [item["Names"][0] for item in found]
    finally:
        client.close()


def without_a_socket_forward(monkeypatch: pytest.MonkeyPatch) -> None:
    """A host whose docker CLI names no unix socket to forward to: each
    connection runs `docker system dial-stdio` there, as the docker CLI does."""
    with monkeypatch.context() as patch:
        patch.setattr(SshBridge, "_remote_socket", lambda self: None)
        engine = DockerEngine.connect()
        try:
            function = LambdaFunction(BASE_IMAGE, engine=engine, handler="nothing.here", start_timeout=60)
            assert function.start().invoke({}).error_type == "Runtime.ImportModuleError"  # the runtime answered
            function.stop()
        finally:
            engine.close()


def command_lines() -> list[bytes]:
    found = []
    for proc in Path("/proc").glob("[0-9]*"):
        try:
            found.append((proc / "cmdline").read_bytes())
        except OSError:
            continue
    return found


def ssh_failures_say_what_to_check(monkeypatch: pytest.MonkeyPatch) -> None:
    """ssh's own failures, each one line: the login refused, no ssh client."""
    monkeypatch.setenv("DOCKER_HOST", "ssh://nobody@10.213.0.2")
    with pytest.raises(DockerUnavailableError, match=r"over ssh \(.*Permission denied.*\): the host refused the login"):
        DockerEngine.connect()
    monkeypatch.setenv("DOCKER_HOST", SSH_HOST)
    path = os.environ["PATH"]
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(DockerUnavailableError, match="no `ssh` client is on PATH: install OpenSSH's client"):
        DockerEngine.connect()
    monkeypatch.setenv("PATH", path)


def failures_say_what_to_check(remote_engine: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A published port this machine cannot reach (a firewall that drops),
    then the engine gone in the middle of a session (reached over tcp:// and ssh://)."""
    engine = DockerEngine.connect()
    assert engine.host_address == remote_engine.split("//")[1].split(":")[0]
    drop = ["-s", "10.213.0.1", "-p", "tcp", "-j", "DROP"]  # what Docker forwards to containers, from here
    subprocess.run([*NAMESPACE, "iptables", "-I", "DOCKER-USER", *drop], check=True)
    try:
        function = LambdaFunction(BASE_IMAGE, engine=engine, handler="nothing.here", start_timeout=60)
        started = time.monotonic()
        with pytest.raises(FunctionStartError, match=rf"cannot reach {engine.host_address}:\d+ from here.*firewall"):
            function.start()
        assert time.monotonic() - started < 30  # told well before start_timeout
    finally:
        subprocess.run([*NAMESPACE, "iptables", "-D", "DOCKER-USER", *drop], check=True)
    assert plugin_containers(remote_engine) == []

    function = LambdaFunction(BASE_IMAGE, engine=engine, handler="nothing.here").start()
    with monkeypatch.context() as over_ssh:
        over_ssh.setenv("DOCKER_HOST", SSH_HOST)
        ssh_engine = DockerEngine.connect()
        ssh_function = LambdaFunction(BASE_IMAGE, engine=ssh_engine, handler="nothing.here").start()
        subprocess.run([str(SCRIPT), "cut"], check=True, capture_output=True)
        with pytest.raises(InvokeError, match=rf"the Docker engine at {SSH_HOST} does not answer"):
            ssh_function.invoke({}, timeout=3)  # the host is gone: its sshd does not answer either
    with pytest.raises(InvokeError, match=rf"the Docker engine at {remote_engine} does not answer"):
        function.invoke({}, timeout=3)  # the host is gone: nothing refuses, nothing answers
    for each in (function, ssh_function):
        each.stop()
    engine.close()
    ssh_engine.close()


def test_the_sandbox_on_a_remote_engine(remote_engine_with_base, monkeypatch):
    """/tmp on the engine's disk (the function's, with no file past the
    ephemeral storage, gone with its container) and the invoke's CPU share,
    set through the engine's API: nothing of this machine is used."""
    remote_engine = remote_engine_with_base
    monkeypatch.setenv("DOCKER_HOST", remote_engine)
    engine = DockerEngine.connect()
    try:
        image = build_image(engine, BuildSpec(IMAGES / "python-fn", build_args={"BASE_IMAGE": BASE_IMAGE}))
        function = LambdaFunction(image, engine=engine, handler="handlers.write_tmp", memory_size=128, timeout=30)
        with function:
            assert function.invoke({"mb": 300}).json() == {"written_mb": 300}  # a tmpfs would be killed for memory
            assert function.invoke({"mb": 600}).json()["errno"] == errno.EFBIG
            assert function.exec(["stat", "-c", "%a %u", "/tmp"]).output.decode().split() == ["700", "993"]
            host = engine.client.api.inspect_container(function.get_container_id())["HostConfig"]
            assert (host["CpuQuota"], host["PidsLimit"]) == (7235, 1024)
        cleanup.flush(30)
        assert plugin_containers(remote_engine) == []  # the volume too
    finally:
        engine.close()
