"""Image archives: what `docker save` writes (and OCI image layouts), opened
for reading: the image config, its history and its layer tars."""

from __future__ import annotations

import json
import shutil
import tarfile
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..engine import DockerEngine, docker_errors
from ..errors import LambdaImageError
from .filesystem import ImageFilesystem, Layer

_INDEX_TYPES_OCI = "application/vnd.oci.image.index.v1+json"
_INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}


class ImageArchive:
    """An opened image archive. Close it (or use `with`) to free the file."""

    def __init__(self, path: Path, *, owned_dir: Path | None = None) -> None:
        self.path = path
        self._owned_dir = owned_dir
        try:
            self._tar = tarfile.open(path, mode="r:*")
        except (OSError, tarfile.TarError) as exc:
            raise LambdaImageError(f"{path} is not an image archive (docker save or OCI layout): {exc}") from None
        self._names = {name.removeprefix("./"): name for name in self._tar.getnames()}
        #: set when the archive holds an image index (OCI layout) rather than one manifest
        self.index_media_type = ""
        self.index_platforms: list[dict[str, Any]] = []
        config_name, layer_names = self._locate()
        #: the image config: "config" (Env, Labels, Entrypoint, ...), "history", "rootfs", "architecture", "os"
        self.config: dict[str, Any] = self._json(config_name)
        self._layer_names = layer_names
        #: one per layer, lowest first, each with the history step that made it
        self.layers: list[Layer] = self._describe_layers()
        self._layer_tars: list[tarfile.TarFile] = []
        self._filesystem: ImageFilesystem | None = None

    @classmethod
    def save(cls, engine: DockerEngine, image: str) -> ImageArchive:
        """`docker save` an image into a private temporary file."""
        directory = Path(tempfile.mkdtemp(prefix="pytest-lambda-image-audit-"))
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
        for tar in self._layer_tars:
            tar.close()
        self._tar.close()
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
        if "manifest.json" in self._names:  # docker save, every version
            manifest = self._json("manifest.json")
            if not manifest:
                raise LambdaImageError(f"{self.path}: manifest.json lists no image")
            return manifest[0]["Config"], [name.removeprefix("./") for name in manifest[0]["Layers"]]
        if "index.json" in self._names:  # an OCI image layout
            descriptor = self._json("index.json")
            while descriptor.get("mediaType") in _INDEX_TYPES or "manifests" in descriptor:
                choices = descriptor.get("manifests") or []
                if not choices:
                    raise LambdaImageError(f"{self.path}: the image index lists no manifest")
                chosen = _pick_platform(choices)
                if chosen.get("mediaType") in _INDEX_TYPES:  # index.json pointing at the image's own index
                    self.index_media_type = chosen["mediaType"]
                    self.index_platforms = []
                elif len(choices) > 1 or self.index_media_type:
                    self.index_media_type = self.index_media_type or descriptor.get("mediaType") or _INDEX_TYPES_OCI
                    self.index_platforms = [c.get("platform") or {} for c in choices]
                descriptor = self._json(_blob(chosen["digest"]))
            return _blob(descriptor["config"]["digest"]), [_blob(layer["digest"]) for layer in descriptor["layers"]]
        raise LambdaImageError(f"{self.path} has neither manifest.json (docker save) nor index.json (OCI layout)")

    # -- what the audit reads ----------------------------------------------

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

    def _describe_layers(self) -> list[Layer]:
        """Layer descriptions with the history step that made each one."""
        diff_ids = (self.config.get("rootfs") or {}).get("diff_ids") or []
        steps = [h.get("created_by", "") for h in self.config.get("history") or [] if not h.get("empty_layer")]
        return [
            Layer(
                index=i,
                diff_id=diff_ids[i] if i < len(diff_ids) else "",
                created_by=steps[i] if i < len(steps) and len(steps) == len(self._layer_names) else "",
            )
            for i in range(len(self._layer_names))
        ]

    @property
    def filesystem(self) -> ImageFilesystem:
        if self._filesystem is None:
            for name in self._layer_names:
                inner = self._tar.extractfile(self._names[name])
                if inner is None:
                    raise LambdaImageError(f"{self.path}: layer {name} is missing")
                self._layer_tars.append(tarfile.open(fileobj=inner, mode="r:*"))
            self._filesystem = ImageFilesystem(self._layer_tars, self.layers)
        return self._filesystem


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
