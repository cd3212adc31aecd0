"""Image sources: build (cached on its inputs, target, args, failure), local
tags, and pulls by tag and digest from a real registry on 127.0.0.1."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import docker.errors
import pytest

from pytest_lambda_image import BuildSpec, ImageBuildError, ImageNotFoundError, build_image, get_image
from pytest_lambda_image._runtime import cleanup
from pytest_lambda_image._runtime.image import LABEL_INPUTS

from ..conftest import BASE_IMAGE, IMAGES


@pytest.fixture
def context(private_copy) -> Path:
    """A private copy of tests/images/python-fn, free to edit."""
    return private_copy


def spec(context: Path, **kwargs) -> BuildSpec:
    kwargs.setdefault("build_args", {"BASE_IMAGE": BASE_IMAGE})
    return BuildSpec(context, **kwargs)


def test_unchanged_inputs_are_not_rebuilt(lambda_engine, base_image, context):
    (context / "unique.txt").write_text(uuid.uuid4().hex)  # a fresh hash: the first build is real
    first = build_image(lambda_engine, spec(context))
    second = build_image(lambda_engine, spec(context))

    assert first.built and not second.built
    assert first.id == second.id
    assert first.labels[LABEL_INPUTS]


def test_changes_that_matter_rebuild(lambda_engine, base_image, context):
    (context / "unique.txt").write_text(uuid.uuid4().hex)
    original = build_image(lambda_engine, spec(context))

    (context / "handlers.py").write_text((context / "handlers.py").read_text() + "\n# edited\n")
    edited = build_image(lambda_engine, spec(context))
    assert edited.built and edited.id != original.id

    with_arg = build_image(lambda_engine, spec(context, build_args={"BASE_IMAGE": BASE_IMAGE, "GREETING": "hi"}))
    assert with_arg.built and with_arg.env["GREETING"] == "hi"


def test_dockerignored_files_do_not_trigger_a_rebuild(lambda_engine, base_image, context):
    (context / "unique.txt").write_text(uuid.uuid4().hex)
    (context / ".dockerignore").write_text("notes/\n")
    (context / "notes").mkdir()
    (context / "notes" / "a.md").write_text("one")
    first = build_image(lambda_engine, spec(context))
    (context / "notes" / "a.md").write_text("two")
    assert not build_image(lambda_engine, spec(context)).built
    assert first.built


def test_target_stage(lambda_engine, base_image, lambda_function_factory):
    image = build_image(lambda_engine, spec(IMAGES / "python-fn", target="variant"))
    assert image.cmd == ("handlers.variant",)
    assert lambda_function_factory(image).invoke({}).json() == "variant"


def test_dockerfile_elsewhere_and_explicit_tag(lambda_engine, base_image, context):
    (context / "docker").mkdir()
    (context / "Dockerfile").rename(context / "docker" / "Lambda.dockerfile")
    tag = f"pytest-lambda-image-test/custom:{uuid.uuid4().hex[:8]}"
    image = build_image(lambda_engine, spec(context, dockerfile="docker/Lambda.dockerfile", tag=tag))
    try:
        assert image.ref == tag
        assert tag in lambda_engine.client.images.get(tag).tags
    finally:
        lambda_engine.client.images.remove(tag)


def test_build_failure_shows_the_log_tail(lambda_engine, base_image, context):
    (context / "Dockerfile").write_text(
        f"FROM {BASE_IMAGE}\nRUN echo step-one-output\nRUN echo about-to-fail && exit 17\n"
    )
    with pytest.raises(ImageBuildError) as info:
        build_image(lambda_engine, spec(context))
    message = str(info.value)
    assert "docker build of" in message and "failed" in message
    assert "about-to-fail" in message and "17" in message
    assert "about-to-fail" in info.value.log


def test_missing_dockerfile(lambda_engine, tmp_path):
    with pytest.raises(ImageBuildError, match=r"Dockerfile .*Dockerfile does not exist"):
        build_image(lambda_engine, BuildSpec(tmp_path))
    (tmp_path / "Dockerfile").write_text("FROM scratch\n")
    with pytest.raises(ImageBuildError, match="is not a directory"):
        build_image(lambda_engine, BuildSpec(tmp_path / "nope", dockerfile=tmp_path / "Dockerfile"))


def test_local_tag(lambda_engine, python_image):
    image = get_image(lambda_engine, python_image.ref, pull="never")
    assert image.id == python_image.id
    assert image.entrypoint == ("/lambda-entrypoint.sh",)


def test_unknown_tag_names_the_image(lambda_engine):
    with pytest.raises(ImageNotFoundError, match=r"'pytest-lambda-image-test/nope:1' is not on the Docker engine"):
        get_image(lambda_engine, "pytest-lambda-image-test/nope:1", pull="never")
    with pytest.raises(ImageNotFoundError, match=r"'127.0.0.1:9/nope:1' is not on the Docker engine and pulling"):
        get_image(lambda_engine, "127.0.0.1:9/nope:1")


def test_invalid_reference(lambda_engine):
    with pytest.raises(ImageNotFoundError, match=r"cannot be used|not on the Docker engine"):
        get_image(lambda_engine, "Not A Valid Ref")


# -- pulling from a real registry on 127.0.0.1 ---------------------------------------


@pytest.fixture
def pushed(registry, lambda_engine, scratch_context, tmp_path):
    """A unique image pushed to the registry, then removed locally so that
    using it means pulling it."""
    context = tmp_path / "pushed"
    context.mkdir()
    shutil.copy(scratch_context / "runtime", context / "runtime")
    (context / "marker.txt").write_text(uuid.uuid4().hex)
    (context / "Dockerfile").write_text(
        'FROM scratch\nCOPY runtime /bootstrap\nCOPY marker.txt /\nENTRYPOINT ["/bootstrap"]\nCMD ["fn.handler"]\n'
    )
    repository = f"{registry}/functions/pulled"
    tag = f"{repository}:v1"
    client = lambda_engine.client
    built = build_image(lambda_engine, BuildSpec(context, tag=tag))
    for line in client.api.push(repository, tag="v1", stream=True, decode=True):
        assert "error" not in line, line
    digest = client.images.get_registry_data(tag).id
    for ref in client.images.get(built.id).tags:
        client.images.remove(ref, force=True)
    with pytest.raises(docker.errors.ImageNotFound):
        client.images.get(built.id)
    yield {"repository": repository, "tag": tag, "digest": digest, "id": built.id}
    cleanup.flush()  # the tests' containers are removed in the background: they must be gone first
    for image in client.images.list(name=repository):
        client.images.remove(image.id, force=True)


def test_pull_by_tag_and_run(pushed, lambda_engine, lambda_function_factory):
    image = get_image(lambda_engine, pushed["tag"])  # missing locally -> pulled
    assert image.id == pushed["id"]
    assert lambda_function_factory(image).invoke({"pulled": True}).json()["event"] == {"pulled": True}


def test_pull_by_digest(pushed, lambda_engine):
    ref = f"{pushed['repository']}@{pushed['digest']}"
    image = get_image(lambda_engine, ref)
    assert image.id == pushed["id"]
    assert image.ref == ref


def test_pull_never_refuses(pushed, lambda_engine):
    with pytest.raises(ImageNotFoundError, match="pull is off"):
        get_image(lambda_engine, pushed["tag"], pull="never")


def test_pull_always_refreshes(pushed, lambda_engine):
    assert get_image(lambda_engine, pushed["tag"], pull="always").id == pushed["id"]
