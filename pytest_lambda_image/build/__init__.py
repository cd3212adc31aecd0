"""Building function images: the input-hash cache, the choice of builder
(BuildKit through the docker CLI, or the docker SDK's legacy builder),
build secrets and SSH, and pruning what earlier builds left behind."""

from __future__ import annotations

import re
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import docker.errors
import filelock

from .._runtime.engine import DockerEngine, docker_errors
from .._runtime.image import LABEL_INPUTS, LambdaImage
from ..errors import ImageBuildError
from .buildkit import BuildKitCli, buildkit_build, find_buildkit_cli
from .inputs import base_images, build_identity, buildkit_features, context_files, find_test_files, inputs_hash
from .legacy import legacy_build
from .prune import LABEL_BUILD, LABEL_BUILT_AT, TAG_PREFIX, prune_builds
from .spec import BuildSpec

BUILD_LOG_TAIL = 30
_warned_contexts: set[Path] = set()

__all__ = ["BUILD_LOG_TAIL", "BuildKitCli", "base_images", "build_image", "find_buildkit_cli"]


class ContextIncludesTestsWarning(UserWarning):
    """The build context sends test files: every test edit rebuilds the image."""


def build_image(engine: DockerEngine, spec: BuildSpec, progress: Callable[[str], None] | None = None) -> LambdaImage:
    """Build `spec`, or reuse the image built from the same inputs. One build
    runs at a time per inputs hash on this machine, so pytest-xdist workers
    share it. `progress` gets each line of the build's output."""
    started = time.monotonic()
    context = spec.context.resolve()
    dockerfile = spec.dockerfile_path.resolve()
    if not dockerfile.is_file():
        raise ImageBuildError(f"Dockerfile {dockerfile} does not exist: fix lambda_dockerfile / --lambda-dockerfile")
    if not context.is_dir():
        raise ImageBuildError(f"build context {context} is not a directory: fix lambda_context / the build path")
    try:
        files = context_files(context, dockerfile)
        digest = inputs_hash(engine, spec, context, dockerfile, files)
    except OSError as exc:
        raise ImageBuildError(f"cannot read the build context {context}: {exc}") from None
    _warn_about_tests(context, files)
    tag = spec.tag or f"{TAG_PREFIX}{_tag_name(context)}:{digest[:12]}"
    lock_path = Path(tempfile.gettempdir()) / f"pytest-lambda-image-build-{digest[:16]}.lock"
    with filelock.FileLock(str(lock_path)):
        existing = _find_built(engine, digest)
        if existing is not None:
            with docker_errors(f"tagging {tag}"):
                if tag not in existing.tags:
                    existing.tag(tag)
            return LambdaImage.from_docker(tag, existing, build_seconds=time.monotonic() - started, builder="cache")
        builder, run = _choose_builder(spec, dockerfile)
        labels = {
            LABEL_INPUTS: digest,
            LABEL_BUILD: build_identity(context, dockerfile, spec),
            LABEL_BUILT_AT: str(time.time_ns()),
        }
        error, log = run(engine, spec, context, dockerfile, tag, labels, progress or (lambda line: None))
        if error is not None:
            tail = "\n".join(log[-BUILD_LOG_TAIL:])
            raise ImageBuildError(
                f"docker build of {dockerfile} failed ({builder}): {error}\n--- build log (tail) ---\n{tail}", tail
            )
        with docker_errors(f"inspecting {tag}"):
            try:
                image = engine.client.images.get(tag)
            except docker.errors.ImageNotFound:
                raise ImageBuildError(f"docker build of {dockerfile} produced no image {tag}") from None
        prune_builds(engine, labels[LABEL_BUILD], spec.keep)
        seconds = time.monotonic() - started
        return LambdaImage.from_docker(tag, image, built=True, build_seconds=seconds, builder=builder)


def _choose_builder(spec: BuildSpec, dockerfile: Path) -> tuple[str, Callable[..., tuple[str | None, list[str]]]]:
    needs = buildkit_features(dockerfile.read_text(errors="replace"))
    if spec.secrets:
        needs.append("build secrets")
    if spec.ssh:
        needs.append("SSH forwarding")
    if spec.builder == "legacy":
        if needs:
            raise ImageBuildError(
                f"{dockerfile} needs BuildKit ({', '.join(needs)}), but lambda_builder = legacy: "
                "set lambda_builder = auto or buildkit"
            )
        return "legacy", legacy_build
    cli = find_buildkit_cli(spec.docker_cli)
    if cli is not None:
        return cli.name, lambda engine, *args: buildkit_build(cli, *args)
    if spec.builder == "buildkit" or needs:
        why = f"{dockerfile} needs BuildKit ({', '.join(needs)})" if needs else "lambda_builder = buildkit"
        where = f"the docker CLI {spec.docker_cli!r}" if spec.docker_cli else "no docker CLI on PATH"
        raise ImageBuildError(
            f"{why}, but {where} can run BuildKit builds: install the docker buildx plugin "
            "(docker-buildx-plugin or docker-buildx), or name a docker CLI older than 23 with lambda_docker_cli"
        )
    return "legacy", legacy_build


def _warn_about_tests(context: Path, files: list[str]) -> None:
    found = find_test_files(files)
    if found and context not in _warned_contexts:
        _warned_contexts.add(context)
        shown = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
        warnings.warn(
            f"the build context {context} sends your tests to docker ({shown}): each edit of a test rebuilds "
            "the image; list them in a .dockerignore",
            ContextIncludesTestsWarning,
            stacklevel=3,
        )


def _tag_name(context: Path) -> str:
    return re.sub(r"[^a-z0-9._-]", "-", context.name.lower()).strip(".-_") or "function"


def _find_built(engine: DockerEngine, digest: str) -> docker.models.images.Image | None:
    with docker_errors("looking for a cached build"):
        found = engine.client.images.list(filters={"label": f"{LABEL_INPUTS}={digest}"})
    ours = [image for image in found if any(tag.startswith(TAG_PREFIX) for tag in image.tags)]
    return (ours or found or [None])[0]


