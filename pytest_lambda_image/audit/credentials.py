"""The credential scan: history steps, image config and every file version in
every layer (deleted ones too, since they still ship in the image)."""

from __future__ import annotations

import posixpath
import tarfile
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import IO, Any

from .filesystem import ImageFilesystem, Removal, normalize, one_line
from .findings import Allow, AuditReport, Finding
from .secrets import (
    Context,
    SecretMatch,
    context_for,
    file_rules_for,
    find_in_credential_file,
    find_secrets,
    fingerprint,
    mask,
    redact_step,
)

CHECK = "credentials"
# Files are read whole up to this size; larger ones in windows of it, each
# overlapping the one before, so memory stays bounded and none is skipped.
MAX_FILE_BYTES = 10 * 1024 * 1024
# Longer than any secret a rule matches whole (a PEM key body is at most
# 20,000 characters): a secret that straddles two windows is whole in one.
WINDOW_OVERLAP = 64 * 1024
_BINARY_SNIFF = 8192


@dataclass(frozen=True)
class Candidate:
    """A finding before the allowlist, with the secret kept (never shown) so
    that its slow fingerprint is only computed for findings that are reported."""

    finding: Finding
    secret: str = field(repr=False)


def _finding(match: SecretMatch, where: str, path: str) -> Candidate:
    finding = Finding(
        check=CHECK, rule=match.rule.id, where=where, message=match.rule.description, path=path, value=match.masked
    )
    return Candidate(finding, match.secret)


def scan_history(history: Iterable[Mapping[str, Any]]) -> Iterator[Candidate]:
    """`docker history`'s CREATED BY column: ENV/LABEL/ARG values and the
    build args a RUN step saw (`|1 KEY=value /bin/sh -c ...`)."""
    for step, item in enumerate(history):
        text = item.get("created_by") or ""
        matches = find_secrets(text, "config")
        shown = one_line(redact_step(text), 120) if matches else ""
        for match in matches:
            yield _finding(match, f"history step {step} ({shown})", f"history:{step}")


def scan_config(config: Mapping[str, Any]) -> Iterator[Candidate]:
    """Env, Labels, Entrypoint, Cmd, User and WorkingDir of the image config."""
    pairs = [("env", *item.partition("=")[::2]) for item in config.get("Env") or []]
    pairs += [("label", key, str(value)) for key, value in (config.get("Labels") or {}).items()]
    for kind, key, value in pairs:
        matches = find_secrets(f"{key}={value}", "config")
        shown = mask(key) if any(m.start < len(key) for m in matches) else key  # a token used as a name
        for match in matches:
            yield _finding(match, f"{kind} {shown}", f"{kind}:{shown}")
    for name in ("Entrypoint", "Cmd", "User", "WorkingDir"):
        value = config.get(name)
        text = " ".join(value) if isinstance(value, list) else (value or "")
        for match in find_secrets(text, "config"):
            yield _finding(match, f"config {name}", f"config:{name}")


@dataclass
class CredentialScan:
    """Everything the scan found before any allowlist, and what it read."""

    candidates: list[Candidate] = field(default_factory=list)
    history_steps: int = 0
    files: int = 0
    large: list[str] = field(default_factory=list)  # read in windows
    unreadable: list[str] = field(default_factory=list)


def installed_files(fs: ImageFilesystem) -> set[str]:
    """Files pip installed anywhere (e.g. `pip install -t /var/task`), from
    the RECORD of every *.dist-info: third-party code, read like site-packages."""
    installed: set[str] = set()
    for entry, _ in fs.versions():
        if entry.name != "RECORD" or not entry.is_file or not entry.path.endswith(".dist-info/RECORD"):
            continue
        site = posixpath.dirname(posixpath.dirname(entry.path))
        try:
            record = fs.read(entry, limit=4 * 1024 * 1024).decode("utf-8", "replace")
        except (OSError, tarfile.TarError):
            continue
        for line in record.splitlines():
            name = line.split(",", 1)[0].strip().strip('"')
            if name:
                installed.add(normalize(posixpath.join(site, name)))
    return installed


@dataclass
class FileScan:
    """What one file version holds, read once. Read as a stream, the RECORDs
    that make a file third-party may come after it, so the matches for either
    reading are kept and matches() picks once that is known."""

    path: str
    context: Context  # how it was read: by its path, or "binary"
    binary: bool
    credential_file: list[SecretMatch] = field(default_factory=list)
    found: list[SecretMatch] = field(default_factory=list)
    #: a binary outside the vendored trees, read as vendored too (a RECORD may list it)
    found_vendored: list[SecretMatch] | None = None

    def matches(self, installed: bool) -> list[SecretMatch]:
        """One match per value, for the file read as `installed` says."""
        context = _context(self.path, installed, self.binary)
        if context == self.context:
            found = self.found
        elif self.found_vendored is not None and context == "vendored":
            found = self.found_vendored
        else:  # a text read strictly, now known to be vendored: the vendored rules are a subset
            found = [m for m in self.found if context in m.rule.contexts]
        seen: set[str] = set()
        kept = []
        for match in [*self.credential_file, *found]:
            if match.secret not in seen:
                seen.add(match.secret)
                kept.append(match)
        return kept


def _context(path: str, installed: bool, binary: bool) -> Context:
    context = context_for(path, vendored=installed)
    return "binary" if binary and context != "vendored" else context


def scan_content(path: str, reader: IO[bytes], window: int, installed: bool | None) -> FileScan:
    """A file's matches, read `window` bytes at a time (the whole file when it
    fits), each window starting WINDOW_OVERLAP bytes before the last ended.
    `installed` None: not known yet (see FileScan)."""
    data = reader.read(window)
    # UTF-16 with a BOM, as Windows editors save .env files; every other file as latin-1
    codec = {b"\xff\xfe": "utf-16-le", b"\xfe\xff": "utf-16-be"}.get(data[:2], "latin-1")
    binary = b"\0" in data[:_BINARY_SNIFF] and codec == "latin-1"
    context = _context(path, bool(installed), binary)
    result = FileScan(path, context, binary)
    if installed is None and context == "binary":
        result.found_vendored = []
    rules = file_rules_for(path)
    while data:
        # latin-1 bytes go in as they are: the rules decode only what they look at
        text: str | bytes = data if codec == "latin-1" else _decode(data, codec)
        for rule in rules:
            result.credential_file += find_in_credential_file(rule, _decode(data, codec))
        shared: dict[str, object] = {}
        result.found += find_secrets(text, context, shared=shared)
        if result.found_vendored is not None:
            result.found_vendored += find_secrets(text, "vendored", shared=shared)
        more = reader.read(window)
        if not more:
            break
        data = data[-WINDOW_OVERLAP:] + more
        if codec != "latin-1" and len(data) % 2:  # keep UTF-16 code units whole
            data = data[1:]
    return result


def scan_layers(fs: ImageFilesystem, max_file_bytes: int, stats: CredentialScan) -> Iterator[Candidate]:
    installed = installed_files(fs)
    for entry, removal in fs.versions():
        if not entry.is_file or entry.hardlink or entry.size == 0:
            continue  # a hard link's content is scanned at its source
        if entry.size > max_file_bytes:
            stats.large.append(entry.path)
        try:
            with fs.open(entry) as reader:
                result = scan_content(entry.path, reader, max_file_bytes, entry.path in installed)
        except (OSError, tarfile.TarError, EOFError):
            stats.unreadable.append(entry.path)
            continue
        stats.files += 1
        where = f"{entry.path} in {fs.layers[entry.layer].describe()}{_fate(removal)}"
        for match in result.matches(entry.path in installed):
            yield _finding(match, where, entry.path)


class StreamScanner:
    """The layer scan done while the layers stream past (`docker save` read
    once, never stored): visit() each file as it comes, then finish() once
    the image's layer order and filesystem are known."""

    def __init__(self, max_file_bytes: int = MAX_FILE_BYTES) -> None:
        self.max_file_bytes = max_file_bytes
        self._files: dict[tuple[str, str], list[FileScan]] = {}
        self._unreadable: set[tuple[str, str]] = set()

    def visit(self, layer: str, member: tarfile.TarInfo, reader: IO[bytes]) -> None:
        """Read one regular file of the layer named `layer` (its archive name)."""
        path = normalize(member.name)
        if member.size == 0 or posixpath.basename(path).startswith(".wh."):
            return
        try:
            result = scan_content(path, reader, self.max_file_bytes, None)
        except (OSError, tarfile.TarError, EOFError, zlib.error):
            self._unreadable.add((layer, path))
            return
        self._files.setdefault((layer, path), []).append(result)

    def finish(self, config: Mapping[str, Any], fs: ImageFilesystem, layer_names: list[str]) -> CredentialScan:
        scan = CredentialScan(history_steps=len(config.get("history") or []))
        scan.candidates += scan_history(config.get("history") or [])
        scan.candidates += scan_config(config.get("config") or {})
        installed = installed_files(fs)
        done: set[tuple[str, str]] = set()
        for entry, removal in fs.versions():
            key = (layer_names[entry.layer], entry.path)
            if not entry.is_file or entry.hardlink or entry.size == 0 or key in done:
                continue
            done.add(key)  # a path a layer wrote twice: both contents were read under it
            if key in self._unreadable:
                scan.unreadable.append(entry.path)
                continue
            if entry.size > self.max_file_bytes:
                scan.large.append(entry.path)
            scan.files += 1
            where = f"{entry.path} in {fs.layers[entry.layer].describe()}{_fate(removal)}"
            for result in self._files.get(key, ()):
                for match in result.matches(entry.path in installed):
                    scan.candidates.append(_finding(match, where, entry.path))
        return scan


def _decode(data: bytes, codec: str) -> str:
    # latin-1: lossless and fast, and every rule is ASCII
    return data.decode(codec, "replace").lstrip("\ufeff")


def _fate(removal: Removal | None) -> str:
    if removal is None:
        return ""
    return f", {removal.how} in layer {removal.layer} but still shipped in the image"


def scan_credentials(
    config: Mapping[str, Any], fs: ImageFilesystem, max_file_bytes: int = MAX_FILE_BYTES
) -> CredentialScan:
    """Scan history, config and layers. The result holds secrets: keep it to
    report on with different allowlists, never show it."""
    scan = CredentialScan(history_steps=len(config.get("history") or []))
    scan.candidates += scan_history(config.get("history") or [])
    scan.candidates += scan_config(config.get("config") or {})
    scan.candidates += scan_layers(fs, max_file_bytes, scan)
    return scan


def report_credentials(
    image: str, scan: CredentialScan, allow: Iterable[Allow] = (), max_file_bytes: int = MAX_FILE_BYTES
) -> AuditReport:
    """The findings the allowlist lets through, each with its fingerprint."""
    by_place = [entry for entry in allow if entry.fingerprint is None]
    by_value = [entry for entry in allow if entry.fingerprint is not None]
    kept: list[Finding] = []
    allowed = 0
    for candidate in scan.candidates:
        if any(entry.matches(candidate.finding) for entry in by_place):
            allowed += 1
            continue
        finding = replace(candidate.finding, fingerprint=fingerprint(candidate.secret))
        if any(entry.matches(finding) for entry in by_value):
            allowed += 1
            continue
        kept.append(finding)
    if scan.unreadable:
        kept.append(
            Finding(
                CHECK,
                "unreadable-files",
                scan.unreadable[0],
                f"{len(scan.unreadable)} file(s) could not be read from the image, so they were not scanned",
                severity="error" if scan.files == 0 else "warning",
                path=scan.unreadable[0],
            )
        )
    checked = [f"{scan.history_steps} history steps", "config", f"{scan.files:,} files"]
    if scan.large:
        checked.append(f"{len(scan.large)} over {max_file_bytes // (1024 * 1024)} MiB read in windows")
    if allowed:
        checked.append(f"{allowed} allowlisted")
    return AuditReport(CHECK, image, kept, checked=", ".join(checked))


def audit_credentials(
    image: str,
    config: Mapping[str, Any],
    fs: ImageFilesystem,
    *,
    allow: Iterable[Allow] = (),
    max_file_bytes: int = MAX_FILE_BYTES,
) -> AuditReport:
    """Scan history, config and layers; drop allowlisted findings."""
    return report_credentials(image, scan_credentials(config, fs, max_file_bytes), allow, max_file_bytes)
