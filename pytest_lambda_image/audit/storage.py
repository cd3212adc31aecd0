"""An image read straight from a local engine's overlay2 storage: the image
config from the engine's image store and each layer from its `diff`
directory (what `docker save` would serialize into a tar, read without the
engine doing it). Used when the engine runs on this machine with overlay2
and its files are readable here (root, not Docker Desktop, not the
containerd image store); otherwise the audit streams `docker save`.

overlay2 keeps a layer's deletions as 0/0 character devices and an opaque
directory as the `trusted.overlay.opaque` attribute; they are read as the
`.wh.` entries a saved layer would carry, so the rest of the audit sees one
format."""

from __future__ import annotations

import json
import os
import stat
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from .._runtime.engine import DockerEngine, docker_errors
from ..errors import LambdaImageError
from .archive import ImageDocument, describe_layers
from .credentials import MAX_FILE_BYTES, CredentialScan, StreamScanner
from .filesystem import OPAQUE, WHITEOUT, FileEntry, ImageFilesystem, Layer

SOURCE_ENV = "PYTEST_LAMBDA_AUDIT_SOURCE"  # auto (default), storage or save


@dataclass(frozen=True)
class StoredImage:
    """Where a local engine keeps an image: its config document and its layers' directories, bottom first."""

    config_path: Path
    layer_dirs: tuple[Path, ...]


def find_stored(engine: DockerEngine, image_id: str) -> StoredImage | None:
    """The image's files, when this process can read them; None otherwise."""
    if not engine.shares_filesystem:
        return None
    with docker_errors(f"looking up where image {image_id[:19]} is stored"):
        info = engine.client.info()
        attrs = engine.client.api.inspect_image(image_id)
    if info.get("Driver") != "overlay2" or any("snapshotter" in str(item) for item in info.get("DriverStatus") or ()):
        return None
    graph = attrs.get("GraphDriver") or {}
    data = graph.get("Data") or {}
    if graph.get("Name") != "overlay2" or not data.get("UpperDir"):
        return None
    lower = [Path(p) for p in str(data.get("LowerDir") or "").split(":") if p]
    layer_dirs = (*reversed(lower), Path(data["UpperDir"]))
    digest = image_id.split(":", 1)[-1]
    config_path = Path(
        info.get("DockerRootDir") or "/var/lib/docker", "image", "overlay2", "imagedb", "content", "sha256", digest
    )
    diff_ids = ((attrs.get("RootFS") or {}).get("Layers")) or []
    readable = os.access(config_path, os.R_OK) and all(os.access(d, os.R_OK | os.X_OK) for d in layer_dirs)
    if not readable or len(layer_dirs) != len(diff_ids):
        return None
    return StoredImage(config_path, layer_dirs)


class LocalImage(ImageDocument):
    """An image read from local storage, with the parts a StreamedImage
    offers (config, layers, filesystem, the credential scan)."""

    def __init__(self, stored: StoredImage, name: str, max_file_bytes: int = MAX_FILE_BYTES) -> None:
        self._name = name
        self._dirs = stored.layer_dirs
        self.index_media_type = ""
        self.index_platforms: list[dict[str, Any]] = []
        try:
            self.config: dict[str, Any] = json.loads(stored.config_path.read_bytes())
            if not isinstance(self.config, dict):
                raise TypeError("the image config is not a JSON object")
            diff_ids = (self.config.get("rootfs") or {}).get("diff_ids") or []
            self._layer_names = [str(d) for d in diff_ids] or [str(d) for d in self._dirs]
            self.layers: list[Layer] = describe_layers(self.config, len(self._dirs))
            scanner = StreamScanner(max_file_bytes)
            listed = [list(self._members(index, scanner)) for index in range(len(self._dirs))]
            self.filesystem = ImageFilesystem(listed, self.layers, content=self._content)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            raise LambdaImageError(f"image {name} could not be read from the engine's storage: {exc}") from None
        self._scans = {max_file_bytes: scanner.finish(self.config, self.filesystem, self._layer_names)}

    def credential_scan(self, max_file_bytes: int) -> CredentialScan:
        if max_file_bytes not in self._scans:
            scanner = StreamScanner(max_file_bytes)
            for index in range(len(self._dirs)):
                for _ in self._members(index, scanner):
                    pass
            self._scans[max_file_bytes] = scanner.finish(self.config, self.filesystem, self._layer_names)
        return self._scans[max_file_bytes]

    def close(self) -> None:
        pass  # nothing is held open

    def __enter__(self) -> LocalImage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _members(self, index: int, scanner: StreamScanner) -> Iterator[tarfile.TarInfo]:
        """The layer's entries as a saved layer lists them; each regular file is scanned on the way."""
        top = self._dirs[index]
        layer = self._layer_names[index]
        inodes: dict[tuple[int, int], str] = {}
        for root, directories, files in os.walk(top, onerror=_raise):
            relative_root = os.path.relpath(root, top)
            for name in sorted(directories) + sorted(files):
                path = os.path.join(root, name)
                relative = name if relative_root == "." else f"{relative_root}/{name}"
                info = os.lstat(path)
                member = _member(relative, path, info, inodes)
                if member is None:
                    continue
                yield member
                if stat.S_ISDIR(info.st_mode) and _opaque(path):
                    yield tarfile.TarInfo(f"{relative}/{OPAQUE}")
                if member.isreg() and member.size:
                    with open(path, "rb") as reader:
                        scanner.visit(layer, member, reader)

    def _content(self, entry: FileEntry, member: tarfile.TarInfo) -> IO[bytes]:
        return open(os.path.join(self._dirs[entry.layer], member.name), "rb")


def _member(
    relative: str, path: str, info: os.stat_result, inodes: dict[tuple[int, int], str]
) -> tarfile.TarInfo | None:
    mode = info.st_mode
    if stat.S_ISCHR(mode) and info.st_rdev == 0:  # overlay2's whiteout: the path is deleted in this layer
        parent, _, base = relative.rpartition("/")
        return tarfile.TarInfo(f"{parent}/{WHITEOUT}{base}" if parent else f"{WHITEOUT}{base}")
    member = tarfile.TarInfo(relative)
    member.mode, member.uid, member.gid, member.mtime = stat.S_IMODE(mode), info.st_uid, info.st_gid, int(info.st_mtime)
    if stat.S_ISDIR(mode):
        member.type = tarfile.DIRTYPE
    elif stat.S_ISLNK(mode):
        member.type, member.linkname = tarfile.SYMTYPE, os.readlink(path)
    elif stat.S_ISREG(mode):
        key = (info.st_dev, info.st_ino)
        if info.st_nlink > 1 and key in inodes:  # a hard link, as a saved layer records it
            member.type, member.linkname = tarfile.LNKTYPE, inodes[key]
        else:
            inodes.setdefault(key, relative)
            member.type, member.size = tarfile.REGTYPE, info.st_size
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        member.type = tarfile.CHRTYPE if stat.S_ISCHR(mode) else tarfile.BLKTYPE
        member.devmajor, member.devminor = os.major(info.st_rdev), os.minor(info.st_rdev)
    elif stat.S_ISFIFO(mode):
        member.type = tarfile.FIFOTYPE
    else:
        return None  # a socket: no layer format carries one
    return member


def _raise(error: OSError) -> None:
    raise error


def _opaque(path: str) -> bool:
    for attribute in ("trusted.overlay.opaque", "user.overlay.opaque"):
        try:
            if os.getxattr(path, attribute, follow_symlinks=False) == b"y":
                return True
        except OSError:
            continue
    return False
