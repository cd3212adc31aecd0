"""linux/arm64 images (built with --platform, run under qemu on an x86_64
host) get the arm64 RIE; and the RIE copy path used for remote engines."""

from __future__ import annotations

import platform
import shutil
import subprocess
from pathlib import Path

import pytest

from pytest_lambda_image import BuildSpec, DockerEngine, LambdaFunction, build_image

from ..conftest import IMAGES


@pytest.fixture(scope="session")
def arm64_image(lambda_engine, tmp_path_factory):
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
    return build_image(lambda_engine, BuildSpec(context, platform="linux/arm64"))


def test_arm64_image_runs_with_the_arm64_rie(arm64_image, lambda_function_factory, lambda_engine):
    assert arm64_image.architecture == "arm64"
    function = lambda_function_factory(arm64_image, timeout=10)

    result = function.invoke({"on": "arm"})

    assert result.ok, result.text
    assert result.json()["machine"] == "aarch64"
    mounts = lambda_engine.client.api.inspect_container(function.get_wrapped_container().id)["Mounts"]
    sources = sorted(m["Source"].rsplit("/", 1)[-1] for m in mounts)
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
        assert [(m["Type"], m["Destination"]) for m in details["Mounts"]] == [("volume", "/aws-lambda")]
