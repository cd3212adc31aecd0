"""`docker save` read once, as a stream: each layer is indexed and scanned for
credentials as it passes, and nothing the size of the image is stored (no
temporary copy; memory bounded by the scan's window). What the later checks
read (the heads of programs, RECORD files) is kept on the way; any other
file the container sees is read again through the engine when asked for."""

from __future__ import annotations

import contextlib
import fcntl
import io
import json
import posixpath
import subprocess
import sys
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from .._runtime.cleanup import container_labels, remove_container, track
from .._runtime.engine import DockerEngine, docker_errors
from ..errors import LambdaImageError
from .archive import MALFORMED, ImageDocument, describe_layers, locate, reason
from .credentials import MAX_FILE_BYTES, CredentialScan, StreamScanner
from .filesystem import FileEntry, ImageFilesystem, Layer, normalize

_CHUNK = 1 << 20
_F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)
_AHEAD = 48  # MiB the reader process holds ahead of the scan, so the engine never waits on one
_JSON_LIMIT = 64 << 20  # configs and manifests; anything larger starting with "{" is no image document
_RECORD = 4 << 20  # a RECORD is read up to this much (as credentials.installed_files does)
_SCRIPT_HEAD = 64 << 10  # as much as the executable checks read
_ELF_HEAD = 4 << 10  # an ELF's header and program headers (machine, loader)
_EXTENSIONS = "/opt/extensions/"


class _Chunks(io.RawIOBase):
    """A readable file over an iterator of byte chunks (the engine's response)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._pending = memoryview(b"")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = memoryview(chunk)
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


# Run in a child process: it pulls `docker save` from the engine into memory
# (up to `ahead` MiB) while the audit process scans, so the engine never waits
# on a scan. A thread in the audit process cannot do this: it needs the GIL
# after every read from the socket, and the scan holds it.
_READER = """
import json, os, queue, sys, threading
import docker
url, cert, verify, image, ahead = json.loads(sys.argv[1])
tls = docker.tls.TLSConfig(client_cert=cert and tuple(cert), verify=verify) if url.startswith("https") else False
api = docker.APIClient(base_url=url, tls=tls, timeout=None)
chunks = queue.Queue(maxsize=ahead)
def pull():
    try:
        for chunk in api.get_image(image, chunk_size=1 << 20):
            chunks.put(chunk)
        chunks.put(None)
    except Exception as exc:
        chunks.put(exc)
threading.Thread(target=pull, daemon=True).start()
while True:
    chunk = chunks.get()
    if chunk is None:
        break
    if isinstance(chunk, Exception):
        sys.stderr.write((str(chunk).splitlines() or [type(chunk).__name__])[0])
        sys.exit(1)
    view = memoryview(chunk)
    while view:
        try:
            view = view[os.write(1, view):]
        except BrokenPipeError:
            sys.exit(0)  # the audit stopped reading (it failed, or was interrupted)
"""


def _engine_url(api: Any) -> str | None:
    """The engine's address as a new client takes it; None for transports a
    child process could not reopen from it (ssh, named pipes)."""
    socket_path = getattr(getattr(api, "_custom_adapter", None), "socket_path", None)
    if isinstance(socket_path, str) and str(api.base_url).startswith("http+docker://localhost"):
        return f"unix://{socket_path}"
    if str(api.base_url).startswith(("http://", "https://")):
        return str(api.base_url)
    return None


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


class StreamedImage(ImageDocument):
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
            stream = self._open_save(stack)
            try:
                outer = tarfile.open(fileobj=stream, mode="r|")
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
                while stream.read(_CHUNK):  # the archive's padding: the reader exits once it is sent
                    pass
                self._check_reader()
            except (OSError, EOFError, tarfile.TarError, zlib.error) as exc:
                raise LambdaImageError(
                    f"image {self._name}: cannot read its layers from `docker save` ({reason(exc)}); layers must be "
                    "tar, gzip, bzip2 or xz (zstd is not supported)"
                ) from None
        return docs, members, names

    def _open_save(self, stack: contextlib.ExitStack) -> IO[bytes]:
        """The `docker save` stream: through a reader process (see _READER)
        where the engine's address allows, else read here."""
        api = self._engine.client.api
        url = _engine_url(api)
        if url is None:
            stream = _Chunks(api.get_image(self._image_id, chunk_size=_CHUNK))
            stack.callback(stream.close)
            return io.BufferedReader(stream, _CHUNK)
        cert = list(api.cert) if isinstance(api.cert, tuple) else api.cert
        args = json.dumps([url, cert, api.verify, self._image_id, _AHEAD])
        self._reader = subprocess.Popen(
            [sys.executable, "-c", _READER, args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=_CHUNK
        )
        stack.callback(self._stop_reader)
        assert self._reader.stdout is not None
        with contextlib.suppress(OSError):  # a 64 KiB pipe costs a context switch per 64 KiB (Linux only)
            fcntl.fcntl(self._reader.stdout.fileno(), _F_SETPIPE_SZ, _CHUNK)
        return self._reader.stdout

    def _check_reader(self) -> None:
        reader = getattr(self, "_reader", None)
        if reader is not None and reader.wait() != 0:
            message = (reader.stderr.read() if reader.stderr else b"").decode(errors="replace").strip()
            raise LambdaImageError(f"Docker failed while saving image {self._name} for the audit: {message}")

    def _stop_reader(self) -> None:
        reader = getattr(self, "_reader", None)
        if reader is not None and reader.poll() is None:
            reader.kill()  # only when reading stopped early: a finished stream has already exited
            reader.wait()
        if reader is not None:
            for pipe in (reader.stdout, reader.stderr):
                if pipe is not None:
                    pipe.close()

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
