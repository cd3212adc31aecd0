"""Building function images: the input-hash cache, the choice of builder
(BuildKit through the docker CLI, or the docker SDK's legacy builder),
build secrets and SSH, and pruning what earlier builds left behind."""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path

import docker.errors
import filelock

from .._runtime.cache import cache_dir
from .._runtime.engine import DockerEngine, docker_errors
from .._runtime.image import LABEL_INPUTS, LambdaImage
from ..errors import ImageBuildError
from .buildkit import BuildKitCli, buildkit_build, find_buildkit_cli
from .inputs import (
    base_images,
    build_identity,
    buildkit_features,
    cache_dir_of,
    context_files,
    copied_sources,
    find_test_files,
    hashed_files,
    inputs_hash,
)
from .legacy import legacy_build
from .prune import LABEL_BUILD, LABEL_BUILT_AT, TAG_PREFIX, prune_builds
from .spec import BuildSpec

BUILD_LOG_TAIL = 30
LOCK_SLOTS = 256  # lock files there can ever be: by the inputs hash's first two hex digits
OLD_LOCK_AGE_S = 3600
_old_locks_removed = False
_warned_contexts: set[Path] = set()

__all__ = ["BUILD_LOG_TAIL", "BuildKitCli", "base_images", "build_image", "find_buildkit_cli"]


class ContextIncludesTestsWarning(UserWarning):
    """The build context sends what changes with the tests (test files, or a
    cache directory the Dockerfile copies): the image is rebuilt for it."""


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
        sources = copied_sources(dockerfile.read_text(errors="replace"))
        hashed = hashed_files(files, sources)
        digest = inputs_hash(engine, spec, context, dockerfile, hashed)
    except OSError as exc:
        raise ImageBuildError(f"cannot read the build context {context}: {exc}") from None
    if sources is None:
        _warn_about_tests(context, hashed, "the build may read them (a RUN --mount, or a COPY of a $VARIABLE)")
    else:
        _warn_about_tests(context, hashed, "the Dockerfile copies them")
    tag = spec.tag or f"{TAG_PREFIX}{_tag_name(context)}:{digest[:12]}"
    with filelock.FileLock(str(build_lock_path(digest))):
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


def build_lock_path(digest: str) -> Path:
    """The lock a build of inputs `digest` holds, so that xdist workers (or
    two sessions) build it once: one of LOCK_SLOTS files, reused by every
    later build, so they never pile up (a lock file cannot be removed
    safely while another process may be waiting on it). Two builds that
    share a slot only wait for each other."""
    _remove_old_locks()
    name = f"build-{int(digest[:2], 16) % LOCK_SLOTS:02x}.lock"
    for directory in (cache_dir("locks"), Path(tempfile.gettempdir()) / "pytest-lambda-image-locks"):
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError:
            continue
        if os.access(directory, os.W_OK):
            return directory / name
    raise ImageBuildError(f"no writable directory for the build lock: make {cache_dir('locks')} writable")


def _remove_old_locks() -> None:
    """Once per process: the lock files earlier versions left in the temporary
    directory, one per build, not taken for an hour (taking one rewrites it)."""
    global _old_locks_removed
    if _old_locks_removed:
        return
    _old_locks_removed = True
    stale = time.time() - OLD_LOCK_AGE_S
    for path in Path(tempfile.gettempdir()).glob("pytest-lambda-image-build-*.lock"):
        with contextlib.suppress(OSError):  # another user's, or gone already
            if path.stat().st_mtime < stale:
                path.unlink()


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


def _warn_about_tests(context: Path, hashed: list[str], why: str) -> None:
    """Once per context: what in it changes with the tests and rebuilds the image."""
    if context in _warned_contexts:
        return
    caches = sorted({found for found in map(cache_dir_of, hashed) if found is not None})
    tests = find_test_files(hashed)
    said = []
    if caches:
        names = sorted({path.rsplit("/", 1)[-1] for path in caches})
        said.append(
            f"sends {_some(f'{path}/' for path in caches)} to docker and {why}: each test "
            f"run rewrites them and rebuilds the image; list {', '.join(f'**/{name}' for name in names)} "
            "in a .dockerignore"
        )
    if tests:
        said.append(
            f"sends your tests to docker ({_some(tests)}): each edit of a test rebuilds the image; "
            "list them in a .dockerignore"
        )
    if said:
        _warned_contexts.add(context)
        warnings.warn(f"the build context {context} {'; it '.join(said)}", ContextIncludesTestsWarning, stacklevel=3)


def _some(items: Iterable[str], shown: int = 3) -> str:
    listed = list(items)
    return ", ".join(listed[:shown]) + (", ..." if len(listed) > shown else "")


def _tag_name(context: Path) -> str:
    return re.sub(r"[^a-z0-9._-]", "-", context.name.lower()).strip(".-_") or "function"


def _find_built(engine: DockerEngine, digest: str) -> docker.models.images.Image | None:
    with docker_errors("looking for a cached build"):
        found = engine.client.images.list(filters={"label": f"{LABEL_INPUTS}={digest}"})
    ours = [image for image in found if any(tag.startswith(TAG_PREFIX) for tag in image.tags)]
    return (ours or found or [None])[0]
