"""Shared fixtures for the project's integration tests: real images built
from tests/images on the real Docker engine, through the plugin's own
factories (the plugin is installed, so its fixtures are available here)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pytest_lambda_image import ImageNotFoundError, LambdaImage, get_image
from pytest_lambda_image._runtime import cleanup

IMAGES = Path(__file__).parent / "images"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
BASE_IMAGE = os.environ.get("PYTEST_LAMBDA_BASE_IMAGE", "pytest-lambda-image/python-base:3.11")
NODE_BASE_IMAGE = os.environ.get("PYTEST_LAMBDA_NODE_BASE_IMAGE", "pytest-lambda-image/nodejs-base:20")


def stand_in_base(engine, tag: str) -> LambdaImage:
    """A stand-in Lambda base image that scripts/setup.sh built."""
    try:
        return get_image(engine, tag, pull="never")
    except ImageNotFoundError:
        pytest.fail(f"{tag} is missing: run scripts/setup.sh first", pytrace=False)


@pytest.fixture(scope="session")
def base_image(lambda_engine) -> LambdaImage:
    """The stand-in Lambda Python base (scripts/build-base-image.sh)."""
    return stand_in_base(lambda_engine, BASE_IMAGE)


@pytest.fixture(scope="session")
def python_image(lambda_image_factory, base_image) -> LambdaImage:
    """tests/images/python-fn on the stand-in base: one handler per behaviour."""
    return lambda_image_factory.build(IMAGES / "python-fn", build_args={"BASE_IMAGE": BASE_IMAGE})


def build_from_wheels(lambda_image_factory, context: Path) -> LambdaImage:
    """An image whose Dockerfile installs from the wheels scripts/setup.sh downloads into it (builds are offline)."""
    if not (context / "wheels" / ".complete").exists():
        pytest.fail(f"{context}/wheels is missing: run scripts/setup.sh first", pytrace=False)
    return lambda_image_factory.build(context, build_args={"BASE_IMAGE": BASE_IMAGE})


@pytest.fixture(scope="session")
def orders_image(lambda_image_factory, base_image) -> LambdaImage:
    """examples/orders-function (boto3 installed next to the code)."""
    return build_from_wheels(lambda_image_factory, EXAMPLES / "orders-function")


@pytest.fixture(scope="session")
def moto_server_image(lambda_image_factory, base_image) -> LambdaImage:
    """tests/images/moto-server: moto's server in a container (a stand-in for motoserver/moto)."""
    return build_from_wheels(lambda_image_factory, IMAGES / "moto-server")


@pytest.fixture(scope="session")
def node_base_image(lambda_engine) -> LambdaImage:
    """The stand-in Lambda Node.js 20 base (scripts/build-nodejs-base-image.sh)."""
    return stand_in_base(lambda_engine, NODE_BASE_IMAGE)


@pytest.fixture(scope="session")
def node_image(lambda_image_factory, node_base_image) -> LambdaImage:
    """tests/images/node-fn on the stand-in Node.js base: one handler per behaviour."""
    return lambda_image_factory.build(IMAGES / "node-fn", build_args={"BASE_IMAGE": NODE_BASE_IMAGE})


def secret_step_of_its_own(context: Path) -> None:
    """Make tests/images/buildkit-fn's secret step unique to this build: BuildKit's
    layer cache does not key on a secret's value, so an earlier build's layer
    (with another secret) would be reused."""
    dockerfile = context / "Dockerfile"
    step = f"mkdir -p /build && : {uuid.uuid4().hex} &&"
    dockerfile.write_text(dockerfile.read_text().replace("mkdir -p /build &&", step))


def compile_static(source: Path, output: Path) -> None:
    if shutil.which("gcc") is None:
        pytest.fail("gcc is needed to build the FROM-scratch test runtime: run scripts/setup.sh", pytrace=False)
    subprocess.run(["gcc", "-static", "-O2", "-o", str(output), str(source)], check=True)


@pytest.fixture(scope="session")
def scratch_context(tmp_path_factory) -> Path:
    """A build context for tests/images/scratch-runtime with the runtime compiled."""
    context = tmp_path_factory.mktemp("scratch-runtime")
    shutil.copy(IMAGES / "scratch-runtime" / "Dockerfile", context / "Dockerfile")
    compile_static(IMAGES / "scratch-runtime" / "runtime.c", context / "runtime")
    return context


@pytest.fixture(scope="session")
def go_image(lambda_image_factory, tmp_path_factory) -> LambdaImage:
    """A provided.al2023-style Go function: tests/images/go-runtime, one static
    binary built with the standard library (it behaves as aws-lambda-go does)."""
    if shutil.which("go") is None:
        pytest.fail("go is needed to build the Go test function: run scripts/setup.sh", pytrace=False)
    context = tmp_path_factory.mktemp("go-runtime")
    shutil.copy(IMAGES / "go-runtime" / "Dockerfile", context / "Dockerfile")
    source = IMAGES / "go-runtime" / "main.go"
    env = {**os.environ, "CGO_ENABLED": "0", "GOFLAGS": "-trimpath"}
    subprocess.run(["go", "build", "-o", str(context / "bootstrap"), str(source)], check=True, env=env)
    return lambda_image_factory.build(context)


@pytest.fixture(scope="session")
def scratch_image(lambda_image_factory, scratch_context) -> LambdaImage:
    """A FROM-scratch custom runtime: static binary, no shell, no RIE."""
    return lambda_image_factory.build(scratch_context)


def session_containers(engine) -> set[str]:
    """This process's containers (xdist workers run their own side by side)."""
    filters = {"label": f"{cleanup.LABEL_SESSION}={cleanup.SESSION_ID}"}
    return {c["Id"] for c in engine.client.api.containers(all=True, filters=filters)}


def remove_repository(engine, repository: str) -> None:
    """Untag every image of `repository` (an image goes when its last tag does)."""
    cleanup.flush()  # the fixtures remove containers in the background: they must be gone first
    for image in engine.client.images.list(name=repository):
        for tag in image.tags:
            if tag.startswith(repository + ":"):
                engine.client.images.remove(tag)


@pytest.fixture
def private_copy(tmp_path, lambda_engine) -> Iterator[Path]:
    """A copy of tests/images/python-fn under a unique directory name, so the
    images built from it (tagged pytest-lambda-image/<dir>:<hash>) are this
    test's alone and are removed after it."""
    name = f"fn-{uuid.uuid4().hex[:8]}"
    target = tmp_path / name
    shutil.copytree(IMAGES / "python-fn", target)
    yield target
    remove_repository(lambda_engine, f"pytest-lambda-image/{name}")


@pytest.fixture(scope="session")
def registry(tmp_path_factory):
    """Debian's docker-registry, serving from a temp dir on a free loopback port."""
    binary = shutil.which("docker-registry")
    if binary is None:
        pytest.fail("docker-registry is needed for the pull tests: run scripts/setup.sh", pytrace=False)
    root = tmp_path_factory.mktemp("registry")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = root / "config.yml"
    config.write_text(
        f"version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {root / 'data'}\n"
        f"http:\n  addr: 127.0.0.1:{port}\nlog:\n  level: error\n"
    )
    process = subprocess.Popen([binary, "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    pytest.fail("docker-registry did not start", pytrace=False)
                time.sleep(0.1)
        yield f"127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="session")
def extension_binary(tmp_path_factory):
    out = tmp_path_factory.mktemp("extension") / "extension"
    compile_static(IMAGES / "extension-runtime" / "extension.c", out)
    return out


@pytest.fixture
def extension_image(lambda_engine, lambda_image_factory, scratch_context, extension_binary, tmp_path):
    """Build tests/images/extension-runtime with tests/images/extension-runtime/extension.c
    copied into /opt/extensions under each of `names` (its name picks its behaviour)."""
    built = []

    def build(*names: str, modes: dict[str, int] | None = None) -> LambdaImage:
        context = tmp_path / f"ext-{uuid.uuid4().hex[:8]}"
        (context / "extensions").mkdir(parents=True)
        shutil.copy(IMAGES / "extension-runtime" / "Dockerfile", context / "Dockerfile")
        shutil.copy(scratch_context / "runtime", context / "runtime")
        for name in names:
            shutil.copy(extension_binary, context / "extensions" / name)
            (context / "extensions" / name).chmod((modes or {}).get(name, 0o755))
        image = lambda_image_factory.build(context)
        built.append(context.name)
        return image

    yield build
    for name in built:
        remove_repository(lambda_engine, f"pytest-lambda-image/{name}")
