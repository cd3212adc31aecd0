"""linux/arm64 images (built with --platform, run under qemu on an x86_64
host) get the arm64 RIE; and the RIE copy path used for remote engines."""

from __future__ import annotations

import platform
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from pytest_lambda_image import BuildSpec, DockerEngine, LambdaFunction, build_image

from ..conftest import IMAGES, remove_repository


@pytest.fixture(scope="session")
def arm64_context(tmp_path_factory) -> Path:
    """tests/images/scratch-runtime with its runtime compiled for arm64."""
    native = platform.machine() in ("aarch64", "arm64")
    compiler = "gcc" if native else "aarch64-linux-gnu-gcc"
    if shutil.which(compiler) is None:
        pytest.fail(f"{compiler} is needed to build the arm64 test runtime: run scripts/setup.sh", pytrace=False)
    if not native and not Path("/proc/sys/fs/binfmt_misc/qemu-aarch64").exists():
        pytest.fail("arm64 emulation is not registered with binfmt_misc: run scripts/setup.sh", pytrace=False)
    context = tmp_path_factory.mktemp("arm64-runtime")
    shutil.copy(IMAGES / "scratch-runtime" / "Dockerfile", context / "Dockerfile")
    source = IMAGES / "scratch-runtime" / "runtime.c"
    subprocess.run([compiler, "-static", "-O2", "-o", str(context / "runtime"), str(source)], check=True)
    return context


@pytest.fixture(scope="session")
def arm64_image(lambda_engine, arm64_context):
    return build_image(lambda_engine, BuildSpec(arm64_context, platform="linux/arm64"))


def test_arm64_image_runs_with_the_arm64_rie(arm64_image, lambda_function_factory, lambda_engine):
    assert arm64_image.architecture == "arm64"
    function = lambda_function_factory(arm64_image, timeout=10)

    result = function.invoke({"on": "arm"})

    assert result.ok, result.text
    assert result.json()["machine"] == "aarch64"
    mounts = lambda_engine.client.api.inspect_container(function.get_wrapped_container().id)["Mounts"]
    # the helpers' mounts (not /tmp's volume)
    sources = sorted(m["Source"].rsplit("/", 1)[-1] for m in mounts if m["Destination"] != "/tmp")
    assert sources[0] == "aws-lambda-rie-arm64"
    assert all(source.endswith("-arm64") for source in sources)  # and the trace relay's, when it is built


def test_amd64_platform_build(lambda_engine, scratch_context, lambda_function_factory):
    image = build_image(lambda_engine, BuildSpec(scratch_context, platform="linux/amd64"))
    assert image.architecture == "amd64"
    assert lambda_function_factory(image).invoke({}).json()["machine"] == "x86_64"


def test_rie_is_copied_in_when_the_engine_cannot_mount_our_files(scratch_image, lambda_engine):
    """What happens with a remote DOCKER_HOST: no bind mount of a local path."""
    remote_like = DockerEngine(lambda_engine.client, host_address="127.0.0.1", shares_filesystem=False)
    with LambdaFunction(scratch_image, engine=remote_like) as function:
        assert function.invoke({"copied": True}).json()["event"] == {"copied": True}
        details = lambda_engine.client.api.inspect_container(function.get_wrapped_container().id)
        # No bind mount of this machine's file: a volume the RIE was copied into
        # (the root filesystem is read-only, as on Lambda).
        mounts = sorted((m["Type"], m["Destination"]) for m in details["Mounts"])
        assert mounts == [("volume", "/aws-lambda"), ("volume", "/tmp")]  # /tmp: the function's disk


@pytest.fixture
def arm64_copy(arm64_context, lambda_engine, tmp_path):
    """A copy of the arm64 context under a unique name (its images are this test's)."""
    context = tmp_path / f"arm-{uuid.uuid4().hex[:8]}"
    shutil.copytree(arm64_context, context)
    (context / "marker").write_text(uuid.uuid4().hex)  # inputs no earlier build had: an empty cache
    yield context
    remove_repository(lambda_engine, f"pytest-lambda-image/{context.name}")


def test_classic_builder_arm64_from_scratch_with_steps_before_the_first_copy(
    arm64_copy, lambda_engine, lambda_function_factory
):
    """The classic builder commits an ARG (ENV, WORKDIR ...) on scratch as an
    image of the engine's own platform, and the COPY after it then refused
    it; the build now starts from a zero-layer image of the platform asked for."""
    (arm64_copy / "Dockerfile").write_text(
        "FROM \\\n  scratch AS runtime\n"
        "ARG HANDLER=function.handler\n"
        "ENV GREETING=hello\n"
        "WORKDIR /\n"
        "COPY runtime /bootstrap\n"
        'ENTRYPOINT ["/bootstrap"]\n'
        'CMD ["function.handler"]\n'
    )
    image = build_image(lambda_engine, BuildSpec(arm64_copy, platform="linux/arm64", builder="legacy"))
    assert (image.builder, image.architecture, image.env["GREETING"]) == ("legacy", "arm64", "hello")
    layers = lambda_engine.client.api.inspect_image(image.id)["RootFS"]["Layers"]
    assert len(layers) == 1  # the COPY's: the stand-in for scratch adds none
    result = lambda_function_factory(image, timeout=10).invoke({"classic": True})
    assert result.ok, result.text
    assert result.json()["machine"] == "aarch64"
