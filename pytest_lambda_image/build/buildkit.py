"""BuildKit builds through the docker CLI: `docker buildx build --load` where
the buildx plugin is installed, or a CLI with BuildKit built in (Docker
18.09-22.x, `DOCKER_BUILDKIT=1`), which uses the daemon's own BuildKit and
works offline. The docker SDK cannot drive BuildKit itself."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ..errors import ImageBuildError
from .spec import BuildSpec

_VERSION = re.compile(r"version (\d+)\.", re.IGNORECASE)
# Docker's own Debian package keeps its CLI here; another `docker` may come first on PATH.
_KNOWN_CLIS = ("/usr/bin/docker", "/usr/local/bin/docker")
_found: dict[str, BuildKitCli | None] = {}


@dataclass(frozen=True)
class BuildKitCli:
    path: str
    buildx: bool  # True: `docker buildx build --load`; False: `DOCKER_BUILDKIT=1 docker build`

    @property
    def name(self) -> str:
        return "buildkit (docker buildx)" if self.buildx else "buildkit (DOCKER_BUILDKIT=1)"


def find_buildkit_cli(explicit: str | None = None) -> BuildKitCli | None:
    """A docker CLI that can run BuildKit builds: `explicit` (a path or a
    name on PATH), else `docker` on PATH, else Docker's usual install paths.
    A CLI of Docker 23 or newer without buildx cannot (it dropped its own)."""
    key = explicit or ""
    if key not in _found:
        candidates = [explicit] if explicit else [shutil.which("docker"), *_KNOWN_CLIS]
        _found[key] = None
        seen: set[str] = set()
        for candidate in candidates:
            path = shutil.which(candidate) if candidate else None
            if path is None or os.path.realpath(path) in seen:
                continue
            seen.add(os.path.realpath(path))
            cli = _probe(path)
            if cli is not None:
                _found[key] = cli
                break
    return _found[key]


def _probe(path: str) -> BuildKitCli | None:
    try:
        if _run([path, "buildx", "version"]).returncode == 0:
            return BuildKitCli(path, buildx=True)
        version = _VERSION.search(_run([path, "--version"]).stdout)
    except OSError:
        return None
    if version and int(version[1]) < 23:
        return BuildKitCli(path, buildx=False)
    return None


def _run(command: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, capture_output=True, text=True, timeout=30, check=False)


def buildkit_build(
    cli: BuildKitCli,
    spec: BuildSpec,
    context: Path,
    dockerfile: Path,
    tag: str,
    labels: Mapping[str, str],
    progress: Callable[[str], None],
) -> tuple[str | None, list[str]]:
    """Run the build; returns (the error, or None) and the build log."""
    command = [cli.path, "buildx", "build", "--load"] if cli.buildx else [cli.path, "build"]
    if cli.buildx:
        # Lambda refuses an image index with provenance or SBOM attestations.
        command += ["--provenance=false", "--sbom=false"]
    command += ["--progress=plain", "--file", str(dockerfile), "--tag", tag]
    for key, value in labels.items():
        command += ["--label", f"{key}={value}"]
    for key, value in spec.build_args.items():
        command += ["--build-arg", f"{key}={value}"]
    if spec.target:
        command += ["--target", spec.target]
    if spec.platform:
        command += ["--platform", spec.platform]
    for secret in spec.secrets:
        command += ["--secret", secret]
    for ssh in spec.ssh:
        command += ["--ssh", ssh]
    command.append(str(context))
    env = dict(os.environ)
    if not cli.buildx:
        env["DOCKER_BUILDKIT"] = "1"
    log: list[str] = []
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    except OSError as exc:
        raise ImageBuildError(f"cannot run the docker CLI {cli.path}: {exc.strerror}") from None
    try:
        assert process.stdout is not None
        for raw in process.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            log.append(line)
            progress(line)
        code = process.wait()
    finally:
        if process.poll() is None:  # Ctrl-C or an error while reading: do not leave the build running
            process.kill()
            process.wait()
    if code == 0:
        return None, log
    reason = next((line for line in reversed(log) if "ERROR" in line or "error" in line), f"exit status {code}")
    return reason.strip(), log
