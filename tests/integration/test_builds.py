"""Builds as modern Dockerfiles need them: BuildKit through the docker CLI
(secrets, cache mounts, COPY --chmod, targets), the legacy fallback and its
clear errors, platforms, and pruning what earlier builds left."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from pytest_lambda_image import BuildSpec, ImageBuildError, build_image
from pytest_lambda_image.audit import ImageAudit
from pytest_lambda_image.build import ContextIncludesTestsWarning, find_buildkit_cli

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


@pytest.fixture
def scratch_copy(scratch_context, tmp_path, lambda_engine):
    """A copy of the FROM-scratch context under a unique name (its images are this test's)."""
    context = tmp_path / f"scr-{uuid.uuid4().hex[:8]}"
    shutil.copytree(scratch_context, context)
    (context / "marker").write_text(uuid.uuid4().hex)  # inputs no earlier build had
    yield context
    remove_repository(lambda_engine, f"pytest-lambda-image/{context.name}")


def test_a_rebuilt_base_named_on_a_continued_from_line_rebuilds(scratch_copy, scratch_image, lambda_engine):
    base = f"pytest-lambda-image/cont-base-{uuid.uuid4().hex[:8]}:1"
    (scratch_copy / "Dockerfile").write_text('ARG BASE\nFROM \\\n    ${BASE}\nCOPY runtime /bootstrap2\nCMD ["x.y"]\n')
    spec = BuildSpec(scratch_copy, build_args={"BASE": base})
    try:
        lambda_engine.client.images.get(scratch_image.id).tag(base)
        assert build_image(lambda_engine, spec).builder != "cache"
        assert build_image(lambda_engine, spec).builder == "cache"
        lambda_engine.client.images.get(BASE_IMAGE).tag(base)  # the base is now another image
        rebuilt = build_image(lambda_engine, spec)
        assert rebuilt.builder != "cache"
        assert rebuilt.env.get("LAMBDA_TASK_ROOT")  # from the new base
    finally:
        lambda_engine.client.images.remove(base)


def test_a_pytest_cache_the_dockerfile_does_not_copy_rebuilds_nothing(scratch_copy, lambda_engine, recwarn):
    cache = scratch_copy / ".pytest_cache" / "v" / "cache"
    cache.mkdir(parents=True)
    (cache / "lastfailed").write_text("{}")
    first = build_image(lambda_engine, BuildSpec(scratch_copy))
    (cache / "lastfailed").write_text('{"tests/test_x.py::test_y": true}')  # what the next test run writes
    (scratch_copy / "__pycache__").mkdir()
    (scratch_copy / "__pycache__" / "conftest.cpython-312.pyc").write_bytes(b"\0")
    again = build_image(lambda_engine, BuildSpec(scratch_copy))
    assert (first.builder != "cache", again.builder, again.id) == (True, "cache", first.id)
    assert not [w for w in recwarn if issubclass(w.category, ContextIncludesTestsWarning)]


def test_a_copied_pytest_cache_counts_and_the_warning_names_it(scratch_copy, lambda_engine):
    dockerfile = scratch_copy / "Dockerfile"
    dockerfile.write_text(dockerfile.read_text().replace("COPY runtime /bootstrap", "COPY . /"))
    cache = scratch_copy / ".pytest_cache" / "v" / "cache"
    cache.mkdir(parents=True)
    (cache / "lastfailed").write_text("{}")
    with pytest.warns(
        ContextIncludesTestsWarning, match=r"sends \.pytest_cache/ to docker and the Dockerfile copies"
    ) as said:
        first = build_image(lambda_engine, BuildSpec(scratch_copy))
    assert "list **/.pytest_cache in a .dockerignore" in str(said[0].message)
    (cache / "lastfailed").write_text('{"t": true}')
    assert build_image(lambda_engine, BuildSpec(scratch_copy)).id != first.id  # Docker copies it: it counts
    (scratch_copy / ".dockerignore").write_text(".pytest_cache\n")
    (cache / "lastfailed").write_text('{"u": true}')
    fixed = build_image(lambda_engine, BuildSpec(scratch_copy))
    (cache / "lastfailed").write_text('{"v": true}')
    assert build_image(lambda_engine, BuildSpec(scratch_copy)).id == fixed.id


BUILD_IN_A_PROCESS = """
import sys
from pytest_lambda_image import BuildSpec, DockerEngine, build_image
image = build_image(DockerEngine.connect(), BuildSpec(sys.argv[1]))
print(image.labels["pytest-lambda-image.inputs"], image.builder)
"""


def test_concurrent_builds_of_one_image_build_once_and_leave_no_lock_behind(scratch_copy, tmp_path):
    """As xdist workers do: two processes, the same inputs. The lock lives in
    the plugin's cache among a bounded set of names, not one file per build."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    command = [sys.executable, "-c", BUILD_IN_A_PROCESS, str(scratch_copy)]
    processes = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [process.communicate(timeout=300)[0].strip().split(" ", 1) for process in processes]
    assert [process.returncode for process in processes] == [0, 0]
    # One built it; the other waited for it and found it.
    assert sorted(builder == "cache" for _, builder in outputs) == [False, True], outputs
    digest = outputs[0][0]
    assert not (Path(tempfile.gettempdir()) / f"pytest-lambda-image-build-{digest[:16]}.lock").exists()
    locks = list((tmp_path / "cache" / "pytest-lambda-image" / "locks").iterdir())
    assert [lock.name for lock in locks] == [f"build-{digest[:2]}.lock"]
