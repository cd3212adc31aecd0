"""Function images: a local tag, or pulled by tag or digest; what the plugin
reads of their config. Building them is build/'s business."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import docker.errors

from ..errors import ImageNotFoundError, LambdaImageError
from .engine import DockerEngine, docker_errors, short_reason
from .settings import PullPolicy

LABEL_INPUTS = "pytest-lambda-image.inputs"  # on images the plugin built: the hash of their inputs


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
    build_seconds: float | None = None  # how long finding or building it took (built images only)
    builder: str | None = None  # "buildkit (docker buildx)", "buildkit (DOCKER_BUILDKIT=1)", "legacy" or "cache"

    @property
    def build_summary(self) -> str | None:
        """How the image came to be, for a terminal: None unless it was built (or found built) here."""
        if self.builder is None or self.build_seconds is None:
            return None
        how = "unchanged inputs, not rebuilt" if self.builder == "cache" else f"built with {self.builder}"
        return f"{self.ref} ({how}, {self.build_seconds:.2f} s)"

    @property
    def name(self) -> str:
        """A function name derived from the image: `.../my-fn:tag` -> `my-fn`."""
        if self.ref.startswith("sha256:"):
            return "function"
        base = self.ref.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]
        cleaned = re.sub(r"[^A-Za-z0-9_-]", "-", base)[:64].strip("-")
        return cleaned or "function"

    @classmethod
    def from_docker(
        cls,
        ref: str,
        image: docker.models.images.Image,
        built: bool = False,
        build_seconds: float | None = None,
        builder: str | None = None,
    ) -> LambdaImage:
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
            build_seconds=build_seconds,
            builder=builder,
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
