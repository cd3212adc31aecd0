"""`docker save` read once, as a stream: each layer is indexed and scanned for
credentials as it passes, and nothing the size of the image is stored (no
temporary copy; memory bounded by the scan's window). What the later checks
read (the heads of programs, RECORD files) is kept on the way; any other
file the container sees is read again through the engine when asked for."""

from __future__ import annotations

import contextlib
import io
import json
import posixpath
import queue
import tarfile
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from ..cleanup import container_labels, remove_container, track
from ..engine import DockerEngine, docker_errors
from ..errors import LambdaImageError
from .archive import MALFORMED, describe_layers, locate, reason
from .credentials import MAX_FILE_BYTES, CredentialScan, StreamScanner
from .filesystem import FileEntry, ImageFilesystem, Layer, normalize

_CHUNK = 1 << 20
_AHEAD = 24  # chunks read ahead of the scan: 24 MiB of memory buys the engine never waiting on us
_JSON_LIMIT = 64 << 20  # configs and manifests; anything larger starting with "{" is no image document
_RECORD = 4 << 20  # a RECORD is read up to this much (as credentials.installed_files does)
_SCRIPT_HEAD = 64 << 10  # as much as the executable checks read
_ELF_HEAD = 4 << 10  # an ELF's header and program headers (machine, loader)
_EXTENSIONS = "/opt/extensions/"


class _Chunks(io.RawIOBase):
    """A readable file over an iterator of byte chunks (the engine's response).
    With `ahead`, a thread keeps reading up to that many chunks in advance:
    the engine writes `docker save` only as fast as it is read, so without
    it the engine would wait whenever a large file is being scanned."""

    def __init__(self, chunks: Iterable[bytes], ahead: int = 0) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._pending = memoryview(b"")
        self._queue: queue.Queue[bytes | Exception | None] | None = None
        if ahead:
            self._queue = queue.Queue(maxsize=ahead)
            self._stop = threading.Event()
            threading.Thread(target=self._read_ahead, name="pytest-lambda-audit-read", daemon=True).start()

    def _read_ahead(self) -> None:
        assert self._queue is not None
        try:
            for chunk in self._chunks:
                while not self._stop.is_set():
                    try:
                        self._queue.put(chunk, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
            self._queue.put(None)
        except Exception as exc:  # noqa: BLE001  (handed to the reader thread, which raises it)
            self._queue.put(exc)

    def _next(self) -> bytes | None:
        if self._queue is None:
            return next(self._chunks, None)
        item = self._queue.get()
        if isinstance(item, Exception):
            raise item
        return item

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = self._next()
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size

    def close(self) -> None:
        if self._queue is not None:
            self._stop.set()
        super().close()


class _Prefixed(io.RawIOBase):
    """`head` (already read to tell a layer from a JSON document), then the rest."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head, self._rest = head, rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            size = min(len(buffer), len(self._head))
            buffer[:size] = self._head[:size]
            self._head = self._head[size:]
            return size
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Tee(io.RawIOBase):
    """Reads through to `source`, keeping its first `keep` bytes."""

    def __init__(self, source: IO[bytes], keep: int) -> None:
        self._source, self._keep = source, keep
        self.head = bytearray()
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int | None = -1) -> bytes:
        data = self._source.read(-1 if size is None else size)
        if len(self.head) < self._keep:
            self.head += data[: self._keep - len(self.head)]
        self.read_bytes += len(data)
        return data

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


class _Partial(io.RawIOBase):
    """A file whose head was kept: reads within it are served from memory, and
    the first read past it fetches the whole content."""

    def __init__(self, head: bytes, fetch: Callable[[], bytes]) -> None:
        self._data, self._fetch, self._whole, self._at = head, fetch, False, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._at + len(buffer) > len(self._data) and not self._whole:
            self._data, self._whole = self._fetch(), True
        chunk = self._data[self._at : self._at + len(buffer)]
        buffer[: len(chunk)] = chunk
        self._at += len(chunk)
        return len(chunk)


def _keep(path: str, member: tarfile.TarInfo) -> int:
    """How much of a file the later checks may read: RECORDs (which files are
    third-party), and the heads of programs (#! line, ELF headers) and of
    everything in /opt/extensions."""
    if path.endswith(".dist-info/RECORD"):
        return _RECORD
    if path.startswith(_EXTENSIONS) or member.mode & 0o111:
        return _SCRIPT_HEAD
    return 0


class StreamedImage:
    """An image read from the engine as a stream, with the same parts an
    ImageArchive offers (config, layers, filesystem) and the credential scan
    already done. Close it to remove the container used to read files again."""

    def __init__(self, engine: DockerEngine, image_id: str, name: str, max_file_bytes: int = MAX_FILE_BYTES) -> None:
        self._engine, self._image_id, self._name = engine, image_id, name
        self._kept: dict[tuple[str, str], tuple[bytes, bool]] = {}
        self._container: str | None = None
        self.index_media_type = ""
        self.index_platforms: list[dict[str, Any]] = []
        scanner = StreamScanner(max_file_bytes)
        docs, members, names = self._read(scanner, index=True)
        try:
            found = locate(names, lambda doc: json.loads(docs[doc]), f"image {name}")
            self.index_media_type, self.index_platforms = found.index_media_type, found.index_platforms
            #: the image config: "config" (Env, Labels, Entrypoint, ...), "history", "rootfs", "architecture", "os"
            self.config: dict[str, Any] = json.loads(docs[found.config])
            if not isinstance(self.config, dict):
                raise TypeError("the image config is not a JSON object")
            self._layer_names = [members.resolve(layer) for layer in found.layers]
            self.layers: list[Layer] = describe_layers(self.config, len(self._layer_names))
            self.filesystem = ImageFilesystem(
                [members.layers[layer] for layer in self._layer_names], self.layers, content=self._content
            )
        except MALFORMED as exc:
            raise LambdaImageError(f"image {name} could not be read from `docker save`: {reason(exc)}") from None
        self._scans = {max_file_bytes: scanner.finish(self.config, self.filesystem, self._layer_names)}

    # -- the parts ImageAudit reads ------------------------------------------

    @property
    def image_config(self) -> dict[str, Any]:
        return self.config.get("config") or {}

    @property
    def architecture(self) -> str:
        return self.config.get("architecture") or ""

    @property
    def os(self) -> str:
        return self.config.get("os") or ""

    def credential_scan(self, max_file_bytes: int) -> CredentialScan:
        """The scan done while streaming; another window size streams again."""
        if max_file_bytes not in self._scans:
            scanner = StreamScanner(max_file_bytes)
            self._read(scanner, index=False)
            self._scans[max_file_bytes] = scanner.finish(self.config, self.filesystem, self._layer_names)
        return self._scans[max_file_bytes]

    def close(self) -> None:
        if self._container is not None:
            remove_container(self._engine.client, self._container)
            self._container = None

    def __enter__(self) -> StreamedImage:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading the stream ----------------------------------------------------

    def _read(self, scanner: StreamScanner, *, index: bool) -> tuple[dict[str, bytes], _Members, set[str]]:
        docs: dict[str, bytes] = {}
        members = _Members()
        names: set[str] = set()
        with docker_errors(f"saving image {self._name} for the audit"), contextlib.ExitStack() as stack:
            chunks = self._engine.client.api.get_image(self._image_id, chunk_size=_CHUNK)
            try:
                stream = _Chunks(chunks, ahead=_AHEAD)
                stack.callback(stream.close)
                outer = tarfile.open(fileobj=io.BufferedReader(stream, _CHUNK), mode="r|")
                for member in outer:
                    name = member.name.removeprefix("./").rstrip("/")
                    names.add(name)
                    if member.issym() or member.islnk():  # docker save links a repeated layer to its first copy
                        target = posixpath.join(posixpath.dirname(name), member.linkname)
                        members.aliases[name] = posixpath.normpath(target)
                        continue
                    if not member.isreg():
                        continue
                    source = outer.extractfile(member)
                    if source is None:
                        continue
                    head = source.read(512)
                    if head[:1] in (b"{", b"[") and member.size <= _JSON_LIMIT:
                        docs[name] = head + source.read()
                    elif name.endswith("/layer.tar") or name.startswith("blobs/"):
                        members.layers[name] = self._layer(name, _Prefixed(head, source), scanner, index)
            except (OSError, EOFError, tarfile.TarError, zlib.error) as exc:
                raise LambdaImageError(
                    f"image {self._name}: cannot read its layers from `docker save` ({reason(exc)}); layers must be "
                    "tar, gzip, bzip2 or xz (zstd is not supported)"
                ) from None
        return docs, members, names

    def _layer(self, name: str, source: _Prefixed, scanner: StreamScanner, index: bool) -> list[tarfile.TarInfo]:
        listed: list[tarfile.TarInfo] = []
        tar = tarfile.open(fileobj=io.BufferedReader(source, _CHUNK), mode="r|*")
        for member in tar:
            listed.append(member)
            if not member.isreg():
                continue
            reader = tar.extractfile(member)
            if reader is None:
                continue
            path = normalize(member.name)
            keep = _keep(path, member) if index else 0
            tee = _Tee(reader, keep)
            scanner.visit(name, member, tee)  # type: ignore[arg-type]  # read() is all it uses
            if keep:
                if tee.read_bytes < min(keep, member.size):  # the scan skipped it (empty, a whiteout) or stopped
                    tee.read(keep - tee.read_bytes)
                head = bytes(tee.head)
                if not path.startswith(_EXTENSIONS) and keep == _SCRIPT_HEAD and not head.startswith(b"#!"):
                    head = head[:_ELF_HEAD]  # a compiled program: its headers are all the checks read
                self._kept[(name, path)] = (head, len(head) == member.size)
        return listed

    # -- content for the later checks -------------------------------------------

    def _content(self, entry: FileEntry, member: tarfile.TarInfo) -> IO[bytes]:
        head, whole = self._kept.get((self._layer_names[entry.layer], normalize(member.name)), (b"", False))
        if whole:
            return io.BytesIO(head)
        return io.BufferedReader(_Partial(head, lambda: self._read_again(entry)))

    def _read_again(self, entry: FileEntry) -> bytes:
        """A file's whole content, from a container made (never started) from
        the image: it shows the final view, so only what the container sees."""
        if self.filesystem.get(entry.path) != entry:
            raise FileNotFoundError(
                f"{entry.path} as layer {entry.layer} wrote it is not what the container sees, and the stream read "
                "from `docker save` is gone: audit a saved archive (ImageAudit.from_archive) to read every version"
            )
        client = self._engine.client
        with docker_errors(f"reading {entry.path} from image {self._name}"):
            if self._container is None:
                created = client.api.create_container(
                    self._image_id, entrypoint=["/never-started"], labels=container_labels(), network_disabled=True
                )
                self._container = created["Id"]
                track(created["Id"], client)
            chunks, _ = client.api.get_archive(self._container, entry.path)
            with tarfile.open(fileobj=io.BufferedReader(_Chunks(chunks)), mode="r|") as tar:
                for member in tar:
                    reader = tar.extractfile(member) if member.isreg() else None
                    if reader is not None:
                        return reader.read()
        raise FileNotFoundError(f"{entry.path}: the engine sent no content")


class _Members:
    """Each layer's tar members by archive name, and the names that link to another."""

    def __init__(self) -> None:
        self.layers: dict[str, list[tarfile.TarInfo]] = {}
        self.aliases: dict[str, str] = {}

    def resolve(self, name: str) -> str:
        seen = set()
        while name not in self.layers and name in self.aliases and name not in seen:
            seen.add(name)
            name = self.aliases[name]
        if name not in self.layers:
            raise LambdaImageError(f"layer {name} is missing from `docker save`")
        return name
