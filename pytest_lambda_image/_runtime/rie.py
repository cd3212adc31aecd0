"""Where the Runtime Interface Emulator comes from and how it is put in front
of an image's entrypoint."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import RieNotFoundError
from .cache import cache_dir

RIE_IN_IMAGE = "/usr/local/bin/aws-lambda-rie"
RIE_PORT = 8080  # where the RIE takes invokes inside the container
RIE_MOUNT_POINT = "/aws-lambda/aws-lambda-rie"
RIE_ENV = "PYTEST_LAMBDA_RIE"
RIE_ARCHES = ("x86_64", "arm64")
_WHEEL_MEMBER = "samcli/local/rapid/aws-lambda-rie-{arch}"
SAM_CLI_VERSION = "1.170.0"  # pinned: the RIE the suite is tested against; bump deliberately


def rie_arch(docker_arch: str) -> str:
    """Docker's architecture name (amd64, arm64, aarch64) -> the RIE's (x86_64, arm64)."""
    arch = docker_arch.lower()
    if arch in ("amd64", "x86_64", "x86-64"):
        return "x86_64"
    if arch in ("arm64", "aarch64", "arm64/v8"):
        return "arm64"
    raise RieNotFoundError(f"Lambda has no {docker_arch} architecture: use linux/amd64 or linux/arm64")


def find_rie(arch: str, explicit: str | os.PathLike[str] | None = None) -> Path:
    """The host's RIE binary for `arch`: an explicit path (option or
    PYTEST_LAMBDA_RIE), then an installed aws-sam-cli, then the cache."""
    explicit = explicit or os.environ.get(RIE_ENV) or None
    if explicit:
        path = Path(explicit).expanduser()
        if path.is_dir():
            path = path / f"aws-lambda-rie-{arch}"
        if not path.is_file():
            raise RieNotFoundError(f"RIE binary {path} does not exist: fix --lambda-rie / {RIE_ENV}")
        return path
    for candidate in (_samcli_rie(arch), cache_dir("rie") / f"aws-lambda-rie-{arch}"):
        if candidate is not None and candidate.is_file():
            return candidate
    raise RieNotFoundError(
        f"image has no RIE and none was found for {arch}: pass --lambda-rie=PATH (or set {RIE_ENV}), "
        "pip install aws-sam-cli, or run `python -m pytest_lambda_image fetch-rie`"
    )


def _samcli_rie(arch: str) -> Path | None:
    try:
        spec = importlib.util.find_spec("samcli")
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "local" / "rapid" / f"aws-lambda-rie-{arch}"


def fetch_rie(dest: Path | None = None) -> dict[str, Path]:
    """Download the aws-sam-cli wheel with pip (no dependencies, nothing
    installed) and keep only its RIE binaries, in the cache. Idempotent."""
    dest = dest or cache_dir("rie")
    wanted = {arch: dest / f"aws-lambda-rie-{arch}" for arch in RIE_ARCHES}
    if all(path.is_file() for path in wanted.values()):
        return wanted
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--disable-pip-version-check",
                "--quiet",
                "--dest",
                tmp,
                f"aws-sam-cli=={SAM_CLI_VERSION}",
            ],
            check=True,
        )
        wheel = next(Path(tmp).glob("aws_sam_cli-*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            for arch, path in wanted.items():
                fd, partial = tempfile.mkstemp(dir=dest, prefix=f".{path.name}.")
                with archive.open(_WHEEL_MEMBER.format(arch=arch)) as src, os.fdopen(fd, "wb") as out:
                    shutil.copyfileobj(src, out)
                os.chmod(partial, 0o755)
                os.replace(partial, path)  # atomic: concurrent fetchers never see half a binary
    return wanted


@dataclass(frozen=True)
class Launch:
    """docker create's entrypoint and command for an image under the RIE."""

    entrypoint: list[str]
    command: list[str]


def plan_launch(
    image_entrypoint: Sequence[str] | None,
    image_cmd: Sequence[str] | None,
    *,
    rie: str = RIE_MOUNT_POINT,
    handler: str | None = None,
    rie_flags: Sequence[str] = (),
) -> Launch:
    """Every image runs as `<rie> [flags] <ENTRYPOINT...> <CMD...>`, as Lambda
    runs it behind its own runtime API; `rie` is where the RIE is inside the
    container (the host's, mounted, or an AWS base image's own). No derived
    image and no shell needed. An AWS base image's /lambda-entrypoint.sh sees
    AWS_LAMBDA_RUNTIME_API set by the RIE in front and starts the runtime
    directly."""
    return rie_in_front(rie, rie_flags, bootstrap_command(image_entrypoint, image_cmd, handler))


def rie_in_front(rie: str, rie_flags: Sequence[str], bootstrap: Sequence[str]) -> Launch:
    """The plain launch: the RIE is the entrypoint and starts the bootstrap
    (a capability's launch wrapper takes the same three and may put itself in front)."""
    return Launch(entrypoint=[rie], command=[*rie_flags, *bootstrap])


def bootstrap_command(
    image_entrypoint: Sequence[str] | None, image_cmd: Sequence[str] | None, handler: str | None = None
) -> list[str]:
    """What the RIE starts as the runtime: ENTRYPOINT and CMD. An ENTRYPOINT
    that itself starts the RIE loses that word (two RIEs would fight over
    port 8080). A handler override replaces CMD, which is where Lambda takes
    an image function's handler from."""
    entrypoint = list(image_entrypoint or [])
    if entrypoint and os.path.basename(entrypoint[0]).startswith("aws-lambda-rie"):
        entrypoint = entrypoint[1:]
    return [*entrypoint, *([handler] if handler else list(image_cmd or []))]
