"""Function images: build from a Dockerfile (skipped when the inputs did not
change), use a local tag, or pull by tag or digest; then inspect."""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import docker.errors
import filelock
import requests.exceptions
from docker.utils.build import exclude_paths

from .engine import DockerEngine, docker_errors, short_reason
from .errors import ImageBuildError, ImageNotFoundError, LambdaImageError
from .settings import BuildSpec, PullPolicy

LABEL_INPUTS = "pytest-lambda-image.inputs"
BUILD_LOG_TAIL = 30
_ARG = re.compile(r"^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?", re.IGNORECASE)
_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)", re.IGNORECASE)
_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


def env_dict(items: Iterable[str] | None) -> dict[str, str]:
    """An image config's Env list (`["KEY=value", ...]`) as a dict."""
    return dict(item.split("=", 1) for item in items or () if "=" in item)


@dataclass(frozen=True)
class LambdaImage:
    """An image on the engine, with the parts of its config the plugin uses."""

    ref: str  # how the user named it (tag, digest, or the tag we built)
    id: str
    entrypoint: tuple[str, ...] = ()
    cmd: tuple[str, ...] = ()
    env: Mapping[str, str] = field(default_factory=dict)
    architecture: str = "amd64"
    os: str = "linux"
    user: str = ""
    working_dir: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    built: bool = False  # True when this session ran the build (False: cache hit or not built)

    @property
    def name(self) -> str:
        """A function name derived from the image: `.../my-fn:tag` -> `my-fn`."""
        if self.ref.startswith("sha256:"):
            return "function"
        base = self.ref.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]
        cleaned = re.sub(r"[^A-Za-z0-9_-]", "-", base)[:64].strip("-")
        return cleaned or "function"

    @classmethod
    def from_docker(cls, ref: str, image: docker.models.images.Image, built: bool = False) -> LambdaImage:
        config = image.attrs.get("Config") or {}
        env = env_dict(config.get("Env"))
        return cls(
            ref=ref,
            id=image.id,
            entrypoint=tuple(config.get("Entrypoint") or ()),
            cmd=tuple(config.get("Cmd") or ()),
            env=env,
            architecture=image.attrs.get("Architecture") or "amd64",
            os=image.attrs.get("Os") or "linux",
            user=config.get("User") or "",
            working_dir=config.get("WorkingDir") or "",
            labels=dict(config.get("Labels") or {}),
            built=built,
        )


def get_image(engine: DockerEngine, ref: str, pull: PullPolicy = "missing") -> LambdaImage:
    """A local image, pulled first when the policy says so."""
    if pull == "always":
        return pull_image(engine, ref)
    try:
        with docker_errors(f"looking up image {ref}"):
            try:
                return LambdaImage.from_docker(ref, engine.client.images.get(ref))
            except docker.errors.ImageNotFound:
                pass
    except LambdaImageError as exc:  # e.g. an invalid reference format
        raise ImageNotFoundError(f"image {ref!r} cannot be used: {exc}") from None
    if pull == "never":
        raise ImageNotFoundError(f"image {ref!r} is not on the Docker engine (pull is off): build or pull it first")
    return pull_image(engine, ref)


def pull_image(engine: DockerEngine, ref: str) -> LambdaImage:
    repository, tag, digest = split_reference(ref)
    try:
        with docker_errors(f"pulling {ref}"):
            try:
                if digest:
                    engine.client.images.pull(f"{repository}@{digest}")
                else:
                    engine.client.images.pull(repository, tag=tag or "latest")
                image = engine.client.images.get(ref if (tag or digest) else f"{repository}:latest")
            except docker.errors.APIError as exc:
                raise ImageNotFoundError(
                    f"image {ref!r} is not on the Docker engine and pulling it failed: {short_reason(exc)}"
                ) from None
    except ImageNotFoundError:
        raise
    except LambdaImageError as exc:
        raise ImageNotFoundError(f"image {ref!r} is not on the Docker engine and pulling it failed: {exc}") from None
    return LambdaImage.from_docker(ref, image)


def split_reference(ref: str) -> tuple[str, str | None, str | None]:
    """`registry:5000/repo:tag@sha256:...` -> (repository, tag, digest)."""
    name, _, digest = ref.partition("@")
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        return name[:colon], name[colon + 1 :], digest or None
    return name, None, digest or None


def build_image(engine: DockerEngine, spec: BuildSpec) -> LambdaImage:
    """Build `spec`, or reuse the image built from the same inputs. One build
    runs at a time per inputs hash on this machine, so pytest-xdist workers
    share it."""
    context = spec.context.resolve()
    dockerfile = spec.dockerfile_path.resolve()
    if not dockerfile.is_file():
        raise ImageBuildError(f"Dockerfile {dockerfile} does not exist: fix lambda_dockerfile / --lambda-dockerfile")
    if not context.is_dir():
        raise ImageBuildError(f"build context {context} is not a directory: fix lambda_context / the build path")
    try:
        digest = inputs_hash(engine, spec, context, dockerfile)
    except OSError as exc:
        raise ImageBuildError(f"cannot read the build context {context}: {exc}") from None
    tag = spec.tag or f"pytest-lambda-image/{_tag_name(context)}:{digest[:12]}"
    lock_path = Path(tempfile.gettempdir()) / f"pytest-lambda-image-build-{digest[:16]}.lock"
    with filelock.FileLock(str(lock_path)):
        existing = _find_built(engine, digest)
        if existing is not None:
            with docker_errors(f"tagging {tag}"):
                if tag not in existing.tags:
                    existing.tag(tag)
            return LambdaImage.from_docker(tag, existing)
        return _run_build(engine, spec, context, dockerfile, tag, digest)


def _tag_name(context: Path) -> str:
    return re.sub(r"[^a-z0-9._-]", "-", context.name.lower()).strip(".-_") or "function"


def _find_built(engine: DockerEngine, digest: str) -> docker.models.images.Image | None:
    with docker_errors("looking for a cached build"):
        found = engine.client.images.list(filters={"label": f"{LABEL_INPUTS}={digest}"})
    return found[0] if found else None


def _run_build(
    engine: DockerEngine, spec: BuildSpec, context: Path, dockerfile: Path, tag: str, digest: str
) -> LambdaImage:
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
            labels={LABEL_INPUTS: digest},
            rm=True,
            forcerm=True,
            decode=True,
        )
        for chunk in stream:
            if "stream" in chunk:
                log.extend(chunk["stream"].rstrip("\n").splitlines())
            if "error" in chunk:
                error = str(chunk["error"]).strip()
                log.append(error)
    if error is not None:
        tail = "\n".join(log[-BUILD_LOG_TAIL:])
        raise ImageBuildError(f"docker build of {dockerfile} failed: {error}\n--- build log (tail) ---\n{tail}", tail)
    with docker_errors(f"inspecting {tag}"):
        try:
            image = engine.client.images.get(tag)
        except docker.errors.ImageNotFound:
            raise ImageBuildError(f"docker build of {dockerfile} produced no image {tag}") from None
    return LambdaImage.from_docker(tag, image, built=True)


def inputs_hash(engine: DockerEngine, spec: BuildSpec, context: Path, dockerfile: Path) -> str:
    """Everything that decides the build's result: the files docker would send
    (after .dockerignore), the Dockerfile, build args, target, platform, and
    the ids of local base images (so a rebuilt base triggers a rebuild)."""
    digest = hashlib.sha256()
    text = dockerfile.read_bytes()
    digest.update(b"dockerfile\0" + text)
    for key in sorted(spec.build_args):
        digest.update(f"arg\0{key}\0{spec.build_args[key]}\0".encode())
    digest.update(f"target\0{spec.target}\0platform\0{spec.platform}\0".encode())
    for base in base_images(text.decode("utf-8", errors="replace"), spec.build_args):
        try:
            digest.update(f"base\0{base}\0{engine.client.images.get(base).id}\0".encode())
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            digest.update(f"base\0{base}\0?\0".encode())
    ignore = context / ".dockerignore"
    patterns = []
    if ignore.is_file():
        patterns = [
            line.strip() for line in ignore.read_text().splitlines() if line.strip() and not line.startswith("#")
        ]
    for rel in sorted(exclude_paths(str(context), patterns, dockerfile=os.path.basename(dockerfile))):
        path = context / rel
        if path.is_symlink():
            digest.update(f"link\0{rel}\0{os.readlink(path)}\0".encode())
        elif path.is_file():
            digest.update(f"file\0{rel}\0{path.stat().st_mode & 0o777}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        elif path.is_dir():
            digest.update(f"dir\0{rel}\0".encode())
    return digest.hexdigest()


def base_images(dockerfile_text: str, build_args: Mapping[str, str]) -> list[str]:
    """FROM references with ARG defaults / build args substituted; stage
    names and `scratch` are left out."""
    args: dict[str, str] = {}
    stages: set[str] = set()
    bases: list[str] = []
    for line in dockerfile_text.splitlines():
        arg = _ARG.match(line)
        if arg:
            args[arg[1]] = build_args.get(arg[1], (arg[2] or "").strip("\"'"))
            continue
        frm = _FROM.match(line)
        if not frm:
            continue
        ref = _VAR.sub(lambda m: args.get(m[1], build_args.get(m[1], "")), frm[1])
        if ref and ref.lower() != "scratch" and ref.lower() not in stages:
            bases.append(ref)
        parts = line.split()
        if len(parts) >= 4 and parts[-2].lower() == "as":
            stages.add(parts[-1].lower())
    return bases
