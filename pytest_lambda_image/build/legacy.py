"""The docker SDK's (legacy) builder: what Docker engines without BuildKit
and machines without a docker CLI still have."""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

import docker.errors

from .._lambda import PLATFORMS
from .._runtime.engine import DockerEngine, docker_errors
from .dockerfile import parse, stages
from .prune import TAG_PREFIX
from .spec import BuildSpec


def legacy_build(
    engine: DockerEngine,
    spec: BuildSpec,
    context: Path,
    dockerfile: Path,
    tag: str,
    labels: Mapping[str, str],
    progress: Callable[[str], None],
) -> tuple[str | None, list[str]]:
    """Run the build; returns (the error, or None) and the build log."""
    with tempfile.TemporaryDirectory(prefix="pytest-lambda-image-dockerfile-") as directory:
        rewritten = with_scratch_stand_ins(engine, spec, dockerfile, Path(directory))
        return _build(engine, spec, context, dockerfile, rewritten or dockerfile, tag, labels, progress)


def _build(
    engine: DockerEngine,
    spec: BuildSpec,
    context: Path,
    dockerfile: Path,
    sent: Path,
    tag: str,
    labels: Mapping[str, str],
    progress: Callable[[str], None],
) -> tuple[str | None, list[str]]:
    log: list[str] = []
    error: str | None = None
    try:
        # Outside the context (a rewritten Dockerfile), the SDK sends the file itself.
        dockerfile_arg = str(sent) if sent != dockerfile else os.path.relpath(dockerfile, context)
    except ValueError:  # another drive on Windows
        dockerfile_arg = str(dockerfile)
    with docker_errors(f"building {dockerfile}"):
        stream = engine.client.api.build(
            path=str(context),
            dockerfile=dockerfile_arg,
            tag=tag,
            buildargs=dict(spec.build_args),
            target=spec.target,
            platform=spec.platform,
            labels=dict(labels),
            rm=True,
            forcerm=True,
            # The legacy cache ignores the platform: an arm64 build after an
            # amd64 one of the same Dockerfile would reuse the amd64 layers.
            nocache=spec.platform is not None,
            decode=True,
        )
        for chunk in stream:
            if "stream" in chunk:
                for line in chunk["stream"].rstrip("\n").splitlines():
                    log.append(line)
                    progress(line)
            if "error" in chunk:
                error = str(chunk["error"]).strip()
                log.append(error)
    return error, log


def with_scratch_stand_ins(engine: DockerEngine, spec: BuildSpec, dockerfile: Path, directory: Path) -> Path | None:
    """The Dockerfile with each `FROM scratch` of a build for a platform made
    `FROM` a zero-layer image of that platform, written into `directory`
    (None: nothing to change). The classic builder commits an ARG, ENV,
    LABEL or WORKDIR on scratch as an image of the engine's own platform,
    and the next COPY then refuses it ("does not match the specified
    platform", moby/moby#46294); a base that has the platform keeps it."""
    text = dockerfile.read_text(errors="replace")
    lines = text.splitlines()
    changed = False
    for stage in stages(parse(text), spec.build_args):
        platform = stage.platform if stage.platform in PLATFORMS else spec.platform
        if stage.base.lower() != "scratch" or platform is None:
            continue
        named = ["AS", stage.name] if stage.name else []
        line = " ".join(["FROM", *stage.instruction.flags, scratch_stand_in(engine, platform), *named])
        first, last = stage.instruction.first_line, stage.instruction.last_line
        lines[first : last + 1] = [line] + [""] * (last - first)  # line numbers in errors stay the user's
        changed = True
    if not changed:
        return None
    path = directory / "Dockerfile"
    path.write_text("\n".join(lines) + "\n")
    return path


def scratch_stand_in(engine: DockerEngine, platform: str) -> str:
    """The tag of an image with no layers, no history and no settings, for
    `platform`: what FROM scratch gives, loaded once per engine."""
    system, architecture = platform.split("/")[:2]
    config = {
        "architecture": architecture,
        "os": system,
        "config": {},
        "rootfs": {"type": "layers", "diff_ids": []},
        "history": [],
    }
    blob = json.dumps(config, sort_keys=True).encode()
    digest = hashlib.sha256(blob).hexdigest()
    tag = f"{TAG_PREFIX}scratch:{system}-{architecture}"
    with docker_errors(f"making the {platform} stand-in for scratch"):
        try:
            if engine.client.images.get(tag).id == f"sha256:{digest}":
                return tag
        except docker.errors.ImageNotFound:
            pass
        manifest = json.dumps([{"Config": f"{digest}.json", "RepoTags": [tag], "Layers": []}]).encode()
        archive = io.BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            for name, data in ((f"{digest}.json", blob), ("manifest.json", manifest)):
                member = tarfile.TarInfo(name)
                member.size = len(data)
                tar.addfile(member, io.BytesIO(data))
        engine.client.images.load(archive.getvalue())
    return tag
