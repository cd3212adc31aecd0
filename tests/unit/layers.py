"""Layer tars built in memory, in the shapes `docker save` writes."""

from __future__ import annotations

import io
import tarfile
from dataclasses import dataclass


@dataclass
class F:
    """A file, directory, link or whiteout marker for `layer()`."""

    name: str
    content: bytes = b""
    mode: int = 0o644
    uid: int = 0
    gid: int = 0
    kind: str = "file"  # file, dir, symlink, hardlink
    link: str = ""


def layer(*items: F) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for item in items:
            info = tarfile.TarInfo(item.name)
            info.mode, info.uid, info.gid = item.mode, item.uid, item.gid
            if item.kind == "dir":
                info.type = tarfile.DIRTYPE
                info.mode = item.mode if item.mode != 0o644 else 0o755
            elif item.kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, item.link
            elif item.kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, item.link
            info.size = len(item.content) if item.kind == "file" else 0
            tar.addfile(info, io.BytesIO(item.content) if item.kind == "file" else None)
    return buffer.getvalue()


def d(name: str, mode: int = 0o755, **kw) -> F:
    return F(name, kind="dir", mode=mode, **kw)


def link(name: str, target: str) -> F:
    return F(name, kind="symlink", link=target, mode=0o777)


def whiteout(path: str) -> F:
    head, _, tail = path.rpartition("/")
    return F(f"{head}/.wh.{tail}" if head else f".wh.{tail}")


def opaque(directory: str) -> F:
    return F(f"{directory}/.wh..wh..opq")
