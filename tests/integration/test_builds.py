"""Builds as modern Dockerfiles need them: BuildKit through the docker CLI
(secrets, cache mounts, COPY --chmod, targets), the legacy fallback and its
clear errors, platforms, and pruning what earlier builds left."""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid

import pytest

from pytest_lambda_image import BuildSpec, ImageBuildError, build_image
from pytest_lambda_image.audit import ImageAudit
from pytest_lambda_image.build import find_buildkit_cli

from .. import fakes
from ..conftest import BASE_IMAGE, IMAGES, remove_repository, secret_step_of_its_own

pytestmark = pytest.mark.skipif(find_buildkit_cli() is None, reason="no docker CLI that can run BuildKit builds")


@pytest.fixture
def buildkit_context(tmp_path, lambda_engine):
    """A copy of tests/images/buildkit-fn under a unique name (its images are this test's)."""
    context = tmp_path / f"bk-{uuid.uuid4().hex[:8]}"
    shutil.copytree(IMAGES / "buildkit-fn", context)
    yield context
    remove_repository(lambda_engine, f"pytest-lambda-image/{context.name}")


def test_a_build_secret_reaches_the_build_and_never_the_image(
    buildkit_context, lambda_engine, lambda_function_factory, monkeypatch
):
    token = fakes.github_token("build-secret")
    monkeypatch.setenv("INDEX_TOKEN", token)
    spec = BuildSpec(
        buildkit_context,
        build_args={"BASE_IMAGE": BASE_IMAGE},
        target="final",
        secrets=("id=index_token,env=INDEX_TOKEN",),
    )
    image = build_image(lambda_engine, spec)

    assert image.built and image.builder.startswith("buildkit")
    assert lambda_function_factory(image).invoke({}).json() == {"token_length": len(token), "debug": None}
    with ImageAudit.of(lambda_engine, image) as audit:
        audit.assert_no_credentials()  # the token is not in history, config or any layer
    history = lambda_engine.client.api.history(image.id)
    assert not any(token in (step.get("CreatedBy") or "") for step in history)
    assert build_image(lambda_engine, spec).builder == "cache"  # same inputs: not rebuilt


def test_the_secret_can_come_from_a_file(buildkit_context, lambda_engine, lambda_function_factory, tmp_path):
    secret_step_of_its_own(buildkit_context)
    secret = tmp_path / "token.txt"
    secret.write_text("abc123")
    spec = BuildSpec(buildkit_context, build_args={"BASE_IMAGE": BASE_IMAGE}, secrets=(f"id=index_token,src={secret}",))
    image = build_image(lambda_engine, spec)  # the last stage: debug
    assert lambda_function_factory(image).invoke({}).json() == {"token_length": 6, "debug": "1"}


def test_missing_secret_source_fails_before_building(buildkit_context, monkeypatch):
    monkeypatch.delenv("NO_SUCH_TOKEN", raising=False)
    with pytest.raises(Exception, match="environment variable NO_SUCH_TOKEN is not set"):
        BuildSpec(buildkit_context, secrets=("id=index_token,env=NO_SUCH_TOKEN",))
    with pytest.raises(Exception, match="does not exist"):
        BuildSpec(buildkit_context, secrets=("id=index_token,src=/nonexistent/token",))


def test_buildkit_dockerfile_without_buildkit_is_one_clear_error(buildkit_context, lambda_engine):
    spec = BuildSpec(buildkit_context, build_args={"BASE_IMAGE": BASE_IMAGE}, docker_cli="/nonexistent/docker")
    needs = r"needs BuildKit \(RUN --mount, COPY --chmod\).*install the docker buildx"
    with pytest.raises(ImageBuildError, match=needs):
        build_image(lambda_engine, spec)
    legacy = BuildSpec(buildkit_context, build_args={"BASE_IMAGE": BASE_IMAGE}, builder="legacy")
    with pytest.raises(ImageBuildError, match="lambda_builder = legacy"):
        build_image(lambda_engine, legacy)


def unique(context) -> None:
    """An edit no earlier build had: the build runs instead of hitting the cache."""
    (context / "handlers.py").write_text((context / "handlers.py").read_text() + f"\n# {uuid.uuid4().hex}\n")


def test_buildkit_asked_for_and_missing(private_copy, lambda_engine):
    unique(private_copy)
    spec = BuildSpec(private_copy, build_args={"BASE_IMAGE": BASE_IMAGE}, builder="buildkit", docker_cli="nope-docker")
    with pytest.raises(ImageBuildError, match="lambda_builder = buildkit, but the docker CLI 'nope-docker'"):
        build_image(lambda_engine, spec)


def test_a_plain_dockerfile_falls_back_to_the_legacy_builder(private_copy, lambda_engine, lambda_function_factory):
    unique(private_copy)
    spec = BuildSpec(private_copy, build_args={"BASE_IMAGE": BASE_IMAGE}, docker_cli="/nonexistent/docker")
    image = build_image(lambda_engine, spec)
    assert image.builder == "legacy"
    assert lambda_function_factory(image).invoke({"x": 1}).json()["event"] == {"x": 1}


def test_arm64_after_amd64_of_the_same_dockerfile(scratch_context, lambda_engine, tmp_path):
    context = tmp_path / f"arch-{uuid.uuid4().hex[:8]}"
    shutil.copytree(scratch_context, context)
    try:
        amd64 = build_image(lambda_engine, BuildSpec(context, platform="linux/amd64"))
        arm64 = build_image(lambda_engine, BuildSpec(context, platform="linux/arm64"))
        assert (amd64.architecture, arm64.architecture) == ("amd64", "arm64")
    finally:
        remove_repository(lambda_engine, f"pytest-lambda-image/{context.name}")


def test_older_builds_are_pruned_but_not_a_users_image(private_copy, lambda_engine):
    repository = f"pytest-lambda-image/{private_copy.name}"
    user_tag = f"my-team/{private_copy.name}:kept"
    ids = []
    for edit in range(5):
        unique(private_copy)
        image = build_image(lambda_engine, BuildSpec(private_copy, build_args={"BASE_IMAGE": BASE_IMAGE}))
        ids.append(image.id)
        if edit == 0:
            lambda_engine.client.images.get(image.id).tag(user_tag)  # the user's own tag on an early build
    try:
        ours = [i.id for i in lambda_engine.client.images.list(name=repository)]
        assert sorted(ours) == sorted(ids[-3:])
        assert lambda_engine.client.images.get(user_tag).id == ids[0]
    finally:
        lambda_engine.client.images.remove(user_tag)


def test_ssh_agent_forwarding(tmp_path, lambda_engine, monkeypatch):
    """`lambda_build_ssh = default` hands the build the agent at SSH_AUTH_SOCK, for one step."""
    if shutil.which("ssh-agent") is None or shutil.which("ssh-keygen") is None:
        pytest.fail("ssh-agent and ssh-keygen are needed: run scripts/setup.sh", pytrace=False)
    socket_path = tmp_path / "agent.sock"
    agent = subprocess.Popen(["ssh-agent", "-D", "-a", str(socket_path)], stdout=subprocess.DEVNULL)
    try:
        for _ in range(100):
            if socket_path.exists():
                break
            time.sleep(0.05)
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "key")], check=True)
        monkeypatch.setenv("SSH_AUTH_SOCK", str(socket_path))
        subprocess.run(["ssh-add", "-q", str(tmp_path / "key")], check=True, capture_output=True)
        context = tmp_path / f"ssh-{uuid.uuid4().hex[:8]}"
        context.mkdir()
        marker = uuid.uuid4().hex  # a step of this test's own: no layer cache applies
        (context / "Dockerfile").write_text(
            "ARG BASE_IMAGE=public.ecr.aws/lambda/python:3.12\n"
            "FROM ${BASE_IMAGE}\n"
            f'RUN --mount=type=ssh test -S "$SSH_AUTH_SOCK" && echo {marker} > /var/task/agent-seen\n'
        )
        spec = BuildSpec(context, build_args={"BASE_IMAGE": BASE_IMAGE}, ssh=("default",))
        image = build_image(lambda_engine, spec)
        with ImageAudit.of(lambda_engine, image) as audit:
            assert audit.filesystem.read("/var/task/agent-seen") == f"{marker}\n".encode()  # it saw the agent
        remove_repository(lambda_engine, f"pytest-lambda-image/{context.name}")
    finally:
        agent.terminate()
        agent.wait(timeout=10)
