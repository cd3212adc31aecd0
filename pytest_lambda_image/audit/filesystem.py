"""An image's filesystem read from its layer tars, without running it.

Layers are applied bottom-up the way overlayfs does: `.wh.<name>` deletes a
lower path, `.wh..wh..opq` hides everything a lower layer had in that
directory, and a non-directory written over a directory replaces the whole
subtree. Every version of every file stays reachable, because a file deleted
in a later layer is still shipped inside the image.
"""

from __future__ import annotations

import posixpath
import re
import stat
import tarfile
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Literal

from .secrets import redact_step

WHITEOUT = ".wh."
OPAQUE = ".wh..wh..opq"
MAX_SYMLINK_HOPS = 40  # Linux's own limit (ELOOP)

Kind = Literal["file", "dir", "symlink", "device", "fifo"]
#: content of a file version for a filesystem read as a stream: (the entry, its tar member) -> a reader
ContentSource = Callable[["FileEntry", tarfile.TarInfo], IO[bytes]]


@dataclass(frozen=True)
class FileEntry:
    """One path as a layer wrote it."""

    path: str  # absolute, normalised: "/opt/extensions/ext"
    kind: Kind
    mode: int  # permission bits, including setuid/setgid/sticky
    uid: int
    gid: int
    size: int
    layer: int  # index of the layer that wrote this version
    link: str = ""  # symlink target as written; hard-link source as an absolute path
    hardlink: bool = False

    @property
    def name(self) -> str:
        return posixpath.basename(self.path)

    @property
    def is_file(self) -> bool:
        return self.kind == "file"

    @property
    def is_dir(self) -> bool:
        return self.kind == "dir"

    @property
    def is_symlink(self) -> bool:
        return self.kind == "symlink"

    def describe(self) -> str:
        """`0755 root:root` style: how `ls -l` people read ownership."""
        return f"{self.mode & 0o7777:04o} {_owner(self.uid)}:{_owner(self.gid)}"


def _owner(ident: int) -> str:
    return "root" if ident == 0 else str(ident)


@dataclass(frozen=True)
class Removal:
    """What happened to a version that is not in the final view."""

    how: Literal["deleted", "replaced"]
    layer: int  # the layer that deleted or replaced it


@dataclass
class Layer:
    """One layer: what it wrote and what it deleted."""

    index: int
    diff_id: str = ""
    created_by: str = ""  # the history step that made it
    entries: list[FileEntry] = field(default_factory=list)
    deletions: list[str] = field(default_factory=list)  # paths whited out
    opaque_dirs: list[str] = field(default_factory=list)

    @property
    def short_id(self) -> str:
        return self.diff_id.split(":", 1)[-1][:12] if self.diff_id else f"#{self.index}"

    def describe(self) -> str:
        step = f": {_shorten(redact_step(self.created_by))}" if self.created_by else ""
        return f"layer {self.index} ({self.short_id}){step}"


_CONTENT_HASH = re.compile(r"\b(file|dir|multi):([0-9a-f]{12})[0-9a-f]{52}\b")  # COPY's source digest


def one_line(text: str, limit: int) -> str:
    """Whitespace collapsed, cut to `limit` characters. Redact first: cutting
    first could split a secret and leave part of it unmasked."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _shorten(text: str, limit: int = 80) -> str:
    """A (redacted) history step without its shell boilerplate."""
    text = _CONTENT_HASH.sub(r"\1:\2", " ".join(text.split()))
    for prefix in ("/bin/sh -c #(nop) ", "/bin/sh -c "):
        if text.startswith(prefix):
            text = text[len(prefix) :].strip()
            break
    return one_line(text, limit)


def normalize(path: str) -> str:
    """Tar member names ("./usr/bin/", "usr/bin") as absolute paths ("/usr/bin").
    Spaces are kept: "secret " and "secret" are different files."""
    while path.startswith("./"):
        path = path[2:]
    clean = posixpath.normpath("/" + path.lstrip("/"))
    return "/" if clean in ("/", "//") else clean.rstrip("/")


def _kind(member: tarfile.TarInfo) -> Kind:
    if member.isdir():
        return "dir"
    if member.issym():
        return "symlink"
    if member.ischr() or member.isblk():
        return "device"
    if member.isfifo():
        return "fifo"
    return "file"  # regular files and hard links


ROOT = FileEntry(path="/", kind="dir", mode=0o755, uid=0, gid=0, size=0, layer=-1)


class ImageFilesystem:
    """The final view of an image's files plus every version any layer held.

    Built from open layer tars (the caller owns and closes them). Content is
    read on demand from the tar that holds it.
    """

    def __init__(
        self,
        layer_tars: Sequence[tarfile.TarFile] | Sequence[Iterable[tarfile.TarInfo]],
        layers: Sequence[Layer] | None = None,
        *,
        content: ContentSource | None = None,
    ) -> None:
        """`layer_tars`: open layer tars (content read from them), or, with
        `content`, the members each layer listed when it was read as a stream
        (content then comes from `content`)."""
        self._tars: list[tarfile.TarFile] = [] if content is not None else list(layer_tars)  # type: ignore[arg-type]
        self._content = content
        self.layers: list[Layer] = list(layers) if layers is not None else [Layer(i) for i in range(len(layer_tars))]
        if len(self.layers) != len(layer_tars):
            raise ValueError("one Layer description per layer tar")
        self._members: list[dict[str, tarfile.TarInfo]] = []
        self._view: dict[str, FileEntry] = {}
        self._children: dict[str, set[str]] = defaultdict(set)
        self._removed: dict[tuple[int, str], Removal] = {}
        for layer, tar in zip(self.layers, layer_tars):
            self._apply(layer, tar)

    # -- building the view ------------------------------------------------

    def _apply(self, layer: Layer, tar: Iterable[tarfile.TarInfo]) -> None:
        members: dict[str, tarfile.TarInfo] = {}
        writes: list[tarfile.TarInfo] = []
        for member in tar:
            path = normalize(member.name)
            base = posixpath.basename(path)
            parent = posixpath.dirname(path)
            if base == OPAQUE:
                layer.opaque_dirs.append(parent)
            elif base.startswith(WHITEOUT):
                layer.deletions.append(posixpath.join(parent, base[len(WHITEOUT) :]))
            elif path != "/":
                members[path] = member
                writes.append(member)
        self._members.append(members)
        # Whiteouts and opaque markers only hide *lower* layers, so they go
        # first, whatever their order inside this tar.
        for directory in layer.opaque_dirs:
            for child in list(self._children.get(directory, ())):
                self._remove_tree(child, Removal("deleted", layer.index))
        for path in layer.deletions:
            self._remove_tree(path, Removal("deleted", layer.index))
        for member in writes:
            entry = self._entry(member, layer.index, members)
            layer.entries.append(entry)
            self._add(entry)

    def _entry(self, member: tarfile.TarInfo, index: int, members: dict[str, tarfile.TarInfo]) -> FileEntry:
        path = normalize(member.name)
        size = member.size
        link = member.linkname if member.issym() else ""
        if member.islnk():
            link = normalize(member.linkname)
            source = members.get(link)
            size = source.size if source is not None else 0
        return FileEntry(
            path=path,
            kind=_kind(member),
            mode=stat.S_IMODE(member.mode),  # some tar writers keep the file type bits here too
            uid=member.uid,
            gid=member.gid,
            size=size,
            layer=index,
            link=link,
            hardlink=member.islnk(),
        )

    def _add(self, entry: FileEntry) -> None:
        old = self._view.get(entry.path)
        if old is not None:
            if not (old.is_dir and entry.is_dir):
                self._remove_tree(entry.path, Removal("replaced", entry.layer))
            else:  # a directory over a directory keeps its children
                self._removed[(old.layer, old.path)] = Removal("replaced", entry.layer)
        self._ensure_parents(entry.path, entry.layer)
        self._view[entry.path] = entry
        self._children[posixpath.dirname(entry.path)].add(entry.path)
        # A path written twice by one layer: the later write is the live one,
        # and the earlier shares its (layer, path) key.
        self._removed.pop((entry.layer, entry.path), None)

    def _ensure_parents(self, path: str, layer: int) -> None:
        parent = posixpath.dirname(path)
        if parent == "/" or parent in self._view:
            return
        self._ensure_parents(parent, layer)
        # Some tools omit parent directories from layer tars; the runtime
        # sees them as plain root-owned directories.
        self._view[parent] = FileEntry(path=parent, kind="dir", mode=0o755, uid=0, gid=0, size=0, layer=layer)
        self._children[posixpath.dirname(parent)].add(parent)

    def _remove_tree(self, path: str, removal: Removal) -> None:
        entry = self._view.pop(path, None)
        if entry is not None and entry.layer >= 0:
            self._removed[(entry.layer, entry.path)] = removal
        self._children[posixpath.dirname(path)].discard(path)
        for child in list(self._children.pop(path, ())):
            self._remove_tree(child, removal)

    # -- the final view ----------------------------------------------------

    def get(self, path: str) -> FileEntry | None:
        """The entry at `path` itself (a symlink is not followed)."""
        path = normalize(path)
        return ROOT if path == "/" else self._view.get(path)

    def exists(self, path: str) -> bool:
        return self.resolve(path) is not None

    def listdir(self, path: str) -> list[FileEntry]:
        """Direct children of a directory in the final view, sorted by name."""
        entry = self.resolve(path)
        if entry is None or not entry.is_dir:
            return []
        return sorted((self._view[p] for p in self._children.get(entry.path, ())), key=lambda e: e.path)

    def walk(self, top: str = "/") -> Iterator[FileEntry]:
        """Every entry under `top` in the final view (symlinks not followed)."""
        top = normalize(top)
        stack = [top]
        while stack:
            for child in sorted(self._children.get(stack.pop(), ()), reverse=True):
                entry = self._view[child]
                yield entry
                if entry.is_dir:
                    stack.append(child)

    def __iter__(self) -> Iterator[FileEntry]:
        return self.walk("/")

    def __len__(self) -> int:
        return len(self._view)

    def resolve(self, path: str, *, follow: bool = True) -> FileEntry | None:
        """Follow symlinks (in every component, and the last one when `follow`)
        the way the kernel would inside the container: absolute targets start
        at the image root. None when anything on the way is missing or loops."""
        return self.traverse(path, follow=follow)[0]

    def traverse(self, path: str, *, follow: bool = True) -> tuple[FileEntry | None, list[FileEntry]]:
        """resolve(), plus every directory the kernel looked a name up in on
        the way, in order: each needs search (x) permission, including those
        a symlink only passed through (`a/../b`, a symlinked parent's own
        parents), which the resolved path no longer shows."""
        # Not normalize(): ".." must apply after the symlinks before it, as in the kernel.
        parts = deque(part for part in path.split("/") if part)
        current = "/"
        hops = 0
        searched: list[FileEntry] = []
        while parts:
            name = parts.popleft()
            if name == ".":
                continue
            directory = self.get(current)
            if directory is not None:
                searched.append(directory)
            if name == "..":
                current = posixpath.dirname(current)
                continue
            candidate = posixpath.join(current, name)
            entry = self._view.get(candidate)
            if entry is None:
                return None, searched
            if entry.is_symlink and (parts or follow):
                hops += 1
                if hops > MAX_SYMLINK_HOPS or not entry.link:
                    return None, searched  # ELOOP, or an empty target (ENOENT)
                if entry.link.startswith("/"):
                    current = "/"
                parts.extendleft(reversed([p for p in entry.link.split("/") if p]))
                continue
            if parts and not entry.is_dir:
                return None, searched
            current = candidate
        return self.get(current), searched

    # -- content -----------------------------------------------------------

    def open(self, entry: FileEntry | str) -> IO[bytes]:
        """A reader for a regular file's content (a path is resolved first)."""
        found = self.resolve(entry) if isinstance(entry, str) else entry
        if found is None or not found.is_file:
            raise FileNotFoundError(f"no regular file at {entry if isinstance(entry, str) else entry.path}")
        members = self._members[found.layer]
        member = members.get(found.link if found.hardlink else found.path)
        if member is None:
            raise FileNotFoundError(f"{found.path}: hard link to {found.link}, which is not in its layer")
        if self._content is not None:
            return self._content(found, member)
        reader = self._tars[found.layer].extractfile(member)
        if reader is None:
            raise FileNotFoundError(f"no content for {found.path}")
        return reader

    def read(self, entry: FileEntry | str, limit: int | None = None) -> bytes:
        """A regular file's content, or its first `limit` bytes."""
        with self.open(entry) as reader:
            return reader.read() if limit is None else reader.read(limit)

    # -- every version -----------------------------------------------------

    def versions(self) -> Iterator[tuple[FileEntry, Removal | None]]:
        """Every entry every layer wrote, lowest layer first, with what later
        happened to it (None: it is what the container sees)."""
        for layer in self.layers:
            for entry in layer.entries:
                yield entry, self._removed.get((entry.layer, entry.path))

    def removed(self) -> list[tuple[FileEntry, Removal]]:
        """Files and links still shipped in a layer but hidden from the final
        view, e.g. credentials written by one RUN and deleted by the next."""
        return [(entry, removal) for entry, removal in self.versions() if removal is not None and not entry.is_dir]

    def history(self, path: str) -> list[tuple[FileEntry, Removal | None]]:
        """Every version of one path, lowest layer first."""
        path = normalize(path)
        return [(entry, removal) for entry, removal in self.versions() if entry.path == path]


def layers_from_bytes(blobs: Iterable[bytes]) -> list[tarfile.TarFile]:
    """Open in-memory layer tars (for tests and small archives)."""
    import io

    return [tarfile.open(fileobj=io.BytesIO(blob), mode="r:*") for blob in blobs]
