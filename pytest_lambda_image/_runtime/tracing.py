"""X-Ray trace ids as Lambda gives every invoke one: `X-Amzn-Trace-Id`
`Root=1-<8 hex epoch seconds>-<24 hex>;Parent=<16 hex>;Sampled=0`, which
the runtime receives as `Lambda-Runtime-Trace-Id` and exposes to the
function as `_X_AMZN_TRACE_ID`.

Pure: no Docker. A test may pass its own id; it is checked here so a typo
fails with one line instead of an id the function's libraries reject.
"""

from __future__ import annotations

import re
import secrets
import time

from ..errors import InvokeError

TRACE_HEADER = "X-Amzn-Trace-Id"
TRACE_ENV = "_X_AMZN_TRACE_ID"
_ROOT = r"1-[0-9a-f]{8}-[0-9a-f]{24}"
_ROOT_RE = re.compile(rf"{_ROOT}\Z")
_FIELD_RE = re.compile(r"(?P<key>[A-Za-z]+)=(?P<value>[^;]*)")


def new_trace_id(now: float | None = None) -> str:
    """A fresh, unsampled trace id (the root carries the time, as X-Ray's does)."""
    epoch = int(time.time() if now is None else now)
    return f"Root=1-{epoch:08x}-{secrets.token_hex(12)};Parent={secrets.token_hex(8)};Sampled=0"


def normalize_trace_id(value: str) -> str:
    """A caller's trace id as the header value: a full header
    (`Root=...;Parent=...;Sampled=...`) is kept as given once checked; a bare
    root (`1-...-...`) gets a fresh Parent and Sampled=0. Raises InvokeError."""
    __tracebackhide__ = True
    if not isinstance(value, str):
        raise InvokeError(f"trace_id must be a string such as {new_trace_id()!r}, not {type(value).__name__}")
    text = value.strip()
    if _ROOT_RE.match(text.lower()):
        return f"Root={text.lower()};Parent={secrets.token_hex(8)};Sampled=0"
    fields: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(";"))):
        match = _FIELD_RE.fullmatch(part)
        if match is None:
            raise _bad(value, f"{part!r} is not KEY=VALUE")
        fields[match["key"]] = match["value"]
    root = fields.get("Root", "")
    if not _ROOT_RE.match(root):
        raise _bad(value, "Root must be 1-<8 hex digits>-<24 hex digits>")
    parent = fields.get("Parent")
    if parent is not None and not re.fullmatch(r"[0-9a-f]{16}", parent):
        raise _bad(value, "Parent must be 16 lowercase hex digits")
    if fields.get("Sampled", "0") not in ("0", "1", "?"):
        raise _bad(value, "Sampled must be 0, 1 or ?")
    return text


def _bad(value: str, why: str) -> InvokeError:
    return InvokeError(f"invalid trace_id {value!r}: {why}; e.g. {new_trace_id()!r}")


def trace_root(trace_id: str) -> str:
    """The Root field of a trace header (what stays the same along a trace)."""
    match = re.search(rf"Root=({_ROOT})", trace_id)
    return match.group(1) if match else ""
