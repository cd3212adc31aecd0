"""The credential scan: history steps, image config and every file version in
every layer (deleted ones too, since they still ship in the image)."""

from __future__ import annotations

import posixpath
import tarfile
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .filesystem import FileEntry, ImageFilesystem, Removal, normalize
from .findings import Allow, AuditReport, Finding
from .secrets import (
    Context,
    SecretMatch,
    context_for,
    file_rules_for,
    find_in_credential_file,
    find_secrets,
    redact_step,
)

CHECK = "credentials"
MAX_FILE_BYTES = 10 * 1024 * 1024
_BINARY_SNIFF = 8192


def _finding(match: SecretMatch, where: str, path: str) -> Finding:
    return Finding(
        check=CHECK,
        rule=match.rule.id,
        where=where,
        message=match.rule.description,
        path=path,
        value=match.masked,
        fingerprint=match.fingerprint,
    )


def scan_history(history: Iterable[Mapping[str, Any]]) -> Iterator[Finding]:
    """`docker history`'s CREATED BY column: ENV/LABEL/ARG values and the
    build args a RUN step saw (`|1 KEY=value /bin/sh -c ...`)."""
    for step, item in enumerate(history):
        text = item.get("created_by") or ""
        matches = find_secrets(text, "config")
        shown = _one_line(redact_step(text)) if matches else ""
        for match in matches:
            yield _finding(match, f"history step {step} ({shown})", f"history:{step}")


def scan_config(config: Mapping[str, Any]) -> Iterator[Finding]:
    """Env, Labels, Entrypoint, Cmd, User and WorkingDir of the image config."""
    for item in config.get("Env") or []:
        name = item.split("=", 1)[0]
        for match in find_secrets(item, "config"):
            yield _finding(match, f"env {name}", f"env:{name}")
    for key, value in (config.get("Labels") or {}).items():
        for match in find_secrets(f"{key}={value}", "config"):
            yield _finding(match, f"label {key}", f"label:{key}")
    for field in ("Entrypoint", "Cmd", "User", "WorkingDir"):
        value = config.get(field)
        text = " ".join(value) if isinstance(value, list) else (value or "")
        for match in find_secrets(text, "config"):
            yield _finding(match, f"config {field}", f"config:{field}")


class LayerScan:
    """Counts for the report: what was read and what was skipped."""

    def __init__(self) -> None:
        self.files = 0
        self.too_big: list[str] = []
        self.unreadable: list[str] = []


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


def scan_layers(
    fs: ImageFilesystem, max_file_bytes: int = MAX_FILE_BYTES, stats: LayerScan | None = None
) -> Iterator[Finding]:
    stats = stats if stats is not None else LayerScan()
    installed = installed_files(fs)
    for entry, removal in fs.versions():
        if not entry.is_file or entry.hardlink or entry.size == 0:
            continue  # a hard link's content is scanned at its source
        if entry.size > max_file_bytes:
            stats.too_big.append(entry.path)
            continue
        try:
            data = fs.read(entry)
        except (OSError, tarfile.TarError):
            stats.unreadable.append(entry.path)
            continue
        stats.files += 1
        yield from _scan_file(fs, entry, removal, data, entry.path in installed)


def _decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16 with a BOM, as Windows editors save .env files
        return data.decode("utf-16", "replace")
    return data.decode("latin-1")  # lossless and fast; every rule is ASCII


def _scan_file(
    fs: ImageFilesystem, entry: FileEntry, removal: Removal | None, data: bytes, installed: bool
) -> Iterator[Finding]:
    text = _decode(data)
    where = f"{entry.path} in {fs.layers[entry.layer].describe()}{_fate(removal)}"
    seen: set[str] = set()
    for rule in file_rules_for(entry.path):
        for match in find_in_credential_file(rule, text):
            seen.add(match.fingerprint)
            yield _finding(match, where, entry.path)
    binary = b"\0" in data[:_BINARY_SNIFF] and not data.startswith((b"\xff\xfe", b"\xfe\xff"))
    context: Context = context_for(entry.path, vendored=installed)
    if binary and context != "vendored":
        context = "binary"
    for match in find_secrets(text, context):
        if match.fingerprint not in seen:  # one value, one finding per file
            seen.add(match.fingerprint)
            yield _finding(match, where, entry.path)


def _fate(removal: Removal | None) -> str:
    if removal is None:
        return ""
    return f", {removal.how} in layer {removal.layer} but still shipped in the image"


def _one_line(text: str, limit: int = 120) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def audit_credentials(
    image: str,
    config: Mapping[str, Any],
    fs: ImageFilesystem,
    *,
    allow: Iterable[Allow] = (),
    max_file_bytes: int = MAX_FILE_BYTES,
) -> AuditReport:
    """Scan history, config and layers; drop allowlisted findings."""
    stats = LayerScan()
    found = [
        *scan_history(config.get("history") or []),
        *scan_config(config.get("config") or {}),
        *scan_layers(fs, max_file_bytes, stats),
    ]
    allow = list(allow)
    kept = [f for f in found if not any(entry.matches(f) for entry in allow)]
    checked = [f"{len(config.get('history') or [])} history steps", "config", f"{stats.files:,} files"]
    if stats.too_big:
        checked.append(f"{len(stats.too_big)} files over {max_file_bytes // (1024 * 1024)} MiB not read")
    if stats.unreadable:
        checked.append(f"{len(stats.unreadable)} unreadable (e.g. {stats.unreadable[0]})")
    if len(kept) < len(found):
        checked.append(f"{len(found) - len(kept)} allowlisted")
    return AuditReport(CHECK, image, kept, checked=", ".join(checked))
