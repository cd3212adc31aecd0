"""The docker SDK's (legacy) builder: what Docker engines without BuildKit
and machines without a docker CLI still have."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

from .._runtime.engine import DockerEngine, docker_errors
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
    log: list[str] = []
    error: str | None = None
    try:
        dockerfile_arg = os.path.relpath(dockerfile, context)
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
