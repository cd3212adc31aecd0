"""The plugin against a Docker engine that is not this machine's: dockerd in a
network namespace, reached over tcp:// (scripts/remote-engine.sh). Nothing
is bind-mounted, published ports live at the engine's address, and the AWS
backend runs moto in a container there."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import docker
import pytest

from ..conftest import BASE_IMAGE, EXAMPLES, IMAGES

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "remote-engine.sh"


@pytest.fixture
def remote_engine(base_image, moto_server_image):
    """The engine's DOCKER_HOST, with the stand-in base and moto's image
    loaded into it (it reaches no registry either); stopped afterwards."""
    started = subprocess.run([str(SCRIPT), "start"], capture_output=True, text=True)
    if started.returncode != 0:
        pytest.fail(f"could not start the remote engine: {started.stderr}", pytrace=False)
    url = started.stdout.strip()
    try:
        for tag in (BASE_IMAGE, moto_server_image.ref):
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
        return [c["Names"][0] for c in found] + [n["Name"] for n in networks]
    finally:
        client.close()


def test_a_function_repo_against_a_remote_engine(pytester, remote_engine, moto_server_image, monkeypatch):
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
