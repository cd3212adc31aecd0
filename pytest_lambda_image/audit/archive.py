"""Image archives: what `docker save` writes (and OCI image layouts), opened
for reading: the image config, its history and its layer tars."""

from __future__ import annotations

import json
import os
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._runtime.cleanup import PID_NAMESPACE, pid_alive
from .._runtime.engine import DockerEngine, docker_errors
from ..errors import LambdaImageError
from .filesystem import ImageFilesystem, Layer

_INDEX_TYPES_OCI = "application/vnd.oci.image.index.v1+json"
_INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}


class ImageDocument:
    """What the audit reads of an image's config document (`config`), however the image was read."""

    config: dict[str, Any]

    @property
    def image_config(self) -> Mapping[str, Any]:
        """The runtime config: Env, Entrypoint, Cmd, User, Labels, WorkingDir."""
        return self.config.get("config") or {}

    @property
    def architecture(self) -> str:
        return self.config.get("architecture") or ""

    @property
    def os(self) -> str:
        return self.config.get("os") or ""


class ImageArchive(ImageDocument):
    """An opened image archive. Close it (or use `with`) to free the file."""

    def __init__(self, path: Path, *, owned_dir: Path | None = None) -> None:
        self.path = path
        self._owned_dir = owned_dir
        #: set when the archive holds an image index (OCI layout) rather than one manifest
        self.index_media_type = ""
        self.index_platforms: list[dict[str, Any]] = []
        try:
            self._tar = tarfile.open(path, mode="r:*")
        except (OSError, tarfile.TarError) as exc:
            self._discard()
            raise LambdaImageError(f"{path} is not an image archive (docker save or OCI layout): {exc}") from None
        try:
            self._names = {name.removeprefix("./"): name for name in self._tar.getnames()}
            config_name, layer_names = self._locate()
            #: the image config: "config" (Env, Labels, Entrypoint, ...), "history", "rootfs", "architecture", "os"
            self.config: dict[str, Any] = self._json(config_name)
            if not isinstance(self.config, dict):
                raise TypeError("the image config is not a JSON object")
            self._layer_names = [str(name) for name in layer_names]
            #: one per layer, lowest first, each with the history step that made it
            self.layers: list[Layer] = self._describe_layers()
        except MALFORMED as exc:
            self.close()
            raise LambdaImageError(f"{path} is not a readable image archive: {reason(exc)}") from None
        except BaseException:
            self.close()
            raise
        self._layer_tars: list[tarfile.TarFile] = []
        self._filesystem: ImageFilesystem | None = None

    @classmethod
    def save(cls, engine: DockerEngine, image: str) -> ImageArchive:
        """`docker save` an image into a private temporary file (removed by
        close(); one left by a killed process is removed by the next save)."""
        reap_stale_archives()
        directory = Path(tempfile.mkdtemp(prefix=f"{_PREFIX}{_NAMESPACE}-{os.getpid()}-"))
        target = directory / "image.tar"
        try:
            with docker_errors(f"saving image {image} for the audit"):
                stream = engine.client.api.get_image(image)
                with target.open("wb") as out:
                    for chunk in stream:
                        out.write(chunk)
            return cls(target, owned_dir=directory)
        except BaseException:
            shutil.rmtree(directory, ignore_errors=True)
            raise

    def close(self) -> None:
        for tar in getattr(self, "_layer_tars", ()):
            tar.close()
        if hasattr(self, "_tar"):
            self._tar.close()
        self._discard()

    def _discard(self) -> None:
        if self._owned_dir is not None:
            shutil.rmtree(self._owned_dir, ignore_errors=True)

    def __enter__(self) -> ImageArchive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- locating the parts ------------------------------------------------

    def _json(self, name: str) -> Any:
        member = self._tar.extractfile(self._names[name])
        if member is None:
            raise LambdaImageError(f"{self.path}: {name} is not a file")
        return json.load(member)

    def _locate(self) -> tuple[str, list[str]]:
        found = locate(set(self._names), self._json, str(self.path))
        self.index_media_type, self.index_platforms = found.index_media_type, found.index_platforms
        return found.config, found.layers

    # -- what the audit reads ----------------------------------------------

    def _describe_layers(self) -> list[Layer]:
        return describe_layers(self.config, len(self._layer_names))

    @property
    def filesystem(self) -> ImageFilesystem:
        if self._filesystem is None:
            try:
                for name in self._layer_names:
                    if name not in self._names:
                        raise LambdaImageError(f"{self.path}: layer {name} is missing from the archive")
                    inner = self._tar.extractfile(self._names[name])
                    if inner is None:
                        raise LambdaImageError(f"{self.path}: layer {name} is not a file")
                    self._layer_tars.append(tarfile.open(fileobj=inner, mode="r:*"))
                self._filesystem = ImageFilesystem(self._layer_tars, self.layers)
            except (OSError, EOFError, tarfile.TarError) as exc:
                for tar in self._layer_tars:
                    tar.close()
                self._layer_tars.clear()  # a later call starts over
                raise LambdaImageError(
                    f"{self.path}: cannot read a layer ({reason(exc)}); layers must be tar, gzip, bzip2 or xz "
                    "(zstd is not supported)"
                ) from None
        return self._filesystem


# What a damaged or unexpected archive raises while we read its JSON and tars.
MALFORMED = (KeyError, IndexError, ValueError, TypeError, AttributeError, EOFError, OSError, tarfile.TarError)
_PREFIX = "pytest-lambda-image-audit-"
_NAMESPACE = "".join(ch for ch in PID_NAMESPACE if ch.isdigit()) or "0"


def describe_layers(config: Mapping[str, Any], count: int) -> list[Layer]:
    """Layer descriptions with the history step that made each one."""
    diff_ids = (config.get("rootfs") or {}).get("diff_ids") or []
    steps = [h.get("created_by", "") for h in config.get("history") or [] if not h.get("empty_layer")]
    return [
        Layer(
            index=i,
            diff_id=diff_ids[i] if i < len(diff_ids) else "",
            created_by=steps[i] if i < len(steps) and len(steps) == count else "",
        )
        for i in range(count)
    ]


@dataclass
class Located:
    """Where an archive keeps the image: its config and layers, by member name."""

    config: str
    layers: list[str]
    #: set when the archive holds an image index (OCI layout) rather than one manifest
    index_media_type: str = ""
    index_platforms: list[dict[str, Any]] = field(default_factory=list)


def locate(names: Collection[str], read_json: Callable[[str], Any], where: str) -> Located:
    """Find the image in an archive from its member names and JSON documents:
    manifest.json (docker save, every version) or index.json (OCI layout)."""
    if "manifest.json" in names:
        manifest = read_json("manifest.json")
        if not manifest:
            raise LambdaImageError(f"{where}: manifest.json lists no image")
        return Located(manifest[0]["Config"], [name.removeprefix("./") for name in manifest[0]["Layers"]])
    if "index.json" in names:
        descriptor = read_json("index.json")
        media_type = ""
        platforms: list[dict[str, Any]] = []
        while descriptor.get("mediaType") in _INDEX_TYPES or "manifests" in descriptor:
            choices = descriptor.get("manifests") or []
            if not choices:
                raise LambdaImageError(f"{where}: the image index lists no manifest")
            chosen = _pick_platform([c for c in choices if _blob(c.get("digest", "")) in names] or choices)
            if chosen.get("mediaType") in _INDEX_TYPES:  # index.json pointing at the image's own index
                media_type, platforms = chosen["mediaType"], []
            elif len(choices) > 1 or media_type:
                media_type = media_type or descriptor.get("mediaType") or _INDEX_TYPES_OCI
                platforms = [c.get("platform") or {} for c in choices]
            descriptor = read_json(_blob(chosen["digest"]))
        return Located(
            _blob(descriptor["config"]["digest"]), [_blob(layer["digest"]) for layer in descriptor["layers"]],
            media_type, platforms,
        )  # fmt: skip
    raise LambdaImageError(f"{where} has neither manifest.json (docker save) nor index.json (OCI layout)")


def reap_stale_archives() -> None:
    """Remove archives saved by processes that no longer exist (killed before
    they could clean up). Each directory is named after its PID namespace and
    process id; only our own namespace's are judged, and only ours to remove."""
    for directory in Path(tempfile.gettempdir()).glob(f"{_PREFIX}{_NAMESPACE}-*-*"):
        pid = directory.name[len(_PREFIX) + len(_NAMESPACE) + 1 :].split("-", 1)[0]
        if not (pid.isascii() and pid.isdigit()) or pid_alive(int(pid)):
            continue
        try:
            if directory.stat().st_uid == os.getuid():
                shutil.rmtree(directory, ignore_errors=True)
        except OSError:
            continue


def reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if not isinstance(exc, KeyError) else f"no {exc} in the archive"


def _blob(digest: str) -> str:
    algorithm, _, hexdigest = digest.partition(":")
    return f"blobs/{algorithm}/{hexdigest}"


def _pick_platform(manifests: list[dict[str, Any]]) -> dict[str, Any]:
    """The first runnable Linux manifest of an index (attestations have
    platform unknown/unknown)."""
    for wanted in ("amd64", "arm64"):
        for manifest in manifests:
            platform = manifest.get("platform") or {}
            if platform.get("os") == "linux" and platform.get("architecture") == wanted:
                return manifest
    return manifests[0]
