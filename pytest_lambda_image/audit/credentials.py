"""The credential scan: history steps, image config and every file version in
every layer (deleted ones too, since they still ship in the image)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from .filesystem import FileEntry, ImageFilesystem, Layer, Removal
from .findings import Allow, AuditReport, Finding
from .secrets import Context, SecretMatch, context_for, file_rules_for, find_in_credential_file, find_secrets

CHECK = "credentials"
MAX_FILE_BYTES = 10 * 1024 * 1024
_BINARY_SNIFF = 8192


def redact(text: str, matches: Iterable[SecretMatch]) -> str:
    """`text` with every matched secret replaced by its masked form."""
    out, last = [], 0
    for match in sorted(matches, key=lambda m: m.start):
        out.append(text[last : match.start])
        out.append(match.masked)
        last = match.end
    out.append(text[last:])
    return "".join(out)


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
        shown = _one_line(redact(text, matches))
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


def scan_layers(
    fs: ImageFilesystem, max_file_bytes: int = MAX_FILE_BYTES, stats: LayerScan | None = None
) -> Iterator[Finding]:
    stats = stats if stats is not None else LayerScan()
    for entry, removal in fs.versions():
        if not entry.is_file or entry.hardlink or entry.size == 0:
            continue  # a hard link's content is scanned at its source
        if entry.size > max_file_bytes:
            stats.too_big.append(entry.path)
            continue
        stats.files += 1
        yield from _scan_file(fs, entry, removal)


def _scan_file(fs: ImageFilesystem, entry: FileEntry, removal: Removal | None) -> Iterator[Finding]:
    data = fs.read(entry)
    text = data.decode("latin-1")  # lossless and fast; every rule is ASCII
    where = f"{entry.path} in {fs.layers[entry.layer].describe()}{_fate(fs.layers, removal)}"
    seen: set[tuple[str, str]] = set()
    file_rules = file_rules_for(entry.path)
    for rule in file_rules:
        for match in find_in_credential_file(rule, text):
            seen.add((match.rule.id, match.fingerprint))
            yield _finding(match, where, entry.path)
    if b"\0" in data[:_BINARY_SNIFF] and not file_rules:
        return
    context: Context = context_for(entry.path)
    for match in find_secrets(text, context):
        key = (match.rule.id, match.fingerprint)
        if key not in seen and not _same_secret_reported(seen, match):
            seen.add(key)
            yield _finding(match, where, entry.path)


def _same_secret_reported(seen: set[tuple[str, str]], match: SecretMatch) -> bool:
    return any(fp == match.fingerprint for _, fp in seen)


def _fate(layers: list[Layer], removal: Removal | None) -> str:
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
    if len(kept) < len(found):
        checked.append(f"{len(found) - len(kept)} allowlisted")
    return AuditReport(CHECK, image, kept, checked=", ".join(checked))
