"""Without a Docker daemon, the public API fails with one clear line."""

import pytest

from pytest_lambda_image import DockerEngine, DockerUnavailableError, LambdaFunction


@pytest.fixture
def no_daemon(tmp_path, monkeypatch):
    socket = f"unix://{tmp_path}/absent.sock"
    monkeypatch.setenv("DOCKER_HOST", socket)
    return socket


def test_connect(no_daemon):
    with pytest.raises(
        DockerUnavailableError, match=f"no Docker daemon at {no_daemon}: start Docker or set DOCKER_HOST"
    ):
        DockerEngine.connect()


def test_function_constructs_offline_and_fails_clearly_on_start(no_daemon):
    function = LambdaFunction("my-fn:latest", timeout=3)  # no daemon call yet
    with pytest.raises(DockerUnavailableError, match="no Docker daemon"):
        function.start()
