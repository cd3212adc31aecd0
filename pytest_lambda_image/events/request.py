"""An HTTP request as API Gateway, Function URLs and ALB see it, before each
turns it into its own event shape. Factories and the local gateway share it."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Union
from urllib.parse import parse_qsl, quote, urlencode

# What HTTP APIs, Function URLs and ALB pass as text; any other body is base64.
TEXT_CONTENT_TYPES = ("text/", "application/json", "application/javascript", "application/xml")
MultiMap = Union[Mapping[str, Union[str, Sequence[str]]], Sequence[tuple[str, str]]]


def pairs(values: MultiMap | None) -> list[tuple[str, str]]:
    """`{"a": "1", "b": ["2", "3"]}` or `[("a", "1"), ...]` -> ordered (name, value) pairs."""
    if not values:
        return []
    if isinstance(values, Mapping):
        out: list[tuple[str, str]] = []
        for name, value in values.items():
            if isinstance(value, (list, tuple)):
                out.extend((str(name), str(v)) for v in value)
            else:
                out.append((str(name), str(value)))
        return out
    return [(str(name), str(value)) for name, value in values]


@dataclass
class HttpRequest:
    method: str = "GET"
    path: str = "/"
    query: list[tuple[str, str]] = field(default_factory=list)  # decoded, in order
    raw_query: str | None = None  # as sent; built from `query` when None
    headers: list[tuple[str, str]] = field(default_factory=list)  # as sent, case kept
    body: bytes | None = None
    base64_body: bool = False  # send the body base64-encoded (binary)
    source_ip: str = "203.0.113.10"
    protocol: str = "HTTP/1.1"

    @classmethod
    def build(
        cls,
        method: str = "GET",
        path: str = "/",
        *,
        query: MultiMap | str | None = None,
        headers: MultiMap | None = None,
        body: str | bytes | None = None,
        json_body: Any = None,
        form: MultiMap | None = None,
        source_ip: str = "203.0.113.10",
    ) -> HttpRequest:
        """Normalise the friendly arguments the factories take. A `str` body is
        text; `bytes` are binary (base64 in the event); `json_body` and `form`
        set a matching Content-Type unless one is given."""
        if sum(x is not None for x in (body, json_body, form)) > 1:
            raise ValueError("pass only one of body, json_body and form")
        header_pairs = pairs(headers)
        content_type = None
        data: bytes | None = None
        binary = False
        if json_body is not None:
            data, content_type = json.dumps(json_body).encode(), "application/json"
        elif form is not None:
            data = urlencode(pairs(form)).encode()
            content_type = "application/x-www-form-urlencoded"
        elif isinstance(body, str):
            data = body.encode()
        elif body is not None:
            data, binary = bytes(body), True
        if content_type and not any(n.lower() == "content-type" for n, _ in header_pairs):
            header_pairs.append(("Content-Type", content_type))
        if isinstance(query, str):
            raw_query = query.lstrip("?")
            query_pairs = parse_qsl(raw_query, keep_blank_values=True)
        else:
            query_pairs = pairs(query)
            raw_query = None
        path_only, _, inline_query = path.partition("?")
        if inline_query:
            rest = raw_query if raw_query is not None else urlencode(query_pairs, quote_via=quote)
            raw_query = "&".join(part for part in (inline_query, rest) if part)
            query_pairs = parse_qsl(inline_query, keep_blank_values=True) + query_pairs
        return cls(
            method=method.upper(),
            path=path_only or "/",
            query=query_pairs,
            raw_query=raw_query,
            headers=header_pairs,
            body=data,
            base64_body=binary,
            source_ip=source_ip,
        )

    @property
    def raw_query_string(self) -> str:
        if self.raw_query is not None:
            return self.raw_query
        return urlencode(self.query, quote_via=quote)

    def header(self, name: str) -> str | None:
        """Last value of a header, any case."""
        found = [v for n, v in self.headers if n.lower() == name.lower()]
        return found[-1] if found else None

    def event_body(self, text_types: tuple[str, ...] | None = None) -> tuple[str | None, bool]:
        """The body as events carry it: (text or base64 text, isBase64Encoded).
        With `text_types` (HTTP APIs, Function URLs, ALB), only bodies of those
        content types travel as text, whatever they contain."""
        if self.body is None:
            return None, False
        binary = self.base64_body
        if text_types is not None:
            kind = (self.header("Content-Type") or "").split(";", 1)[0].strip().lower()
            binary = not kind.startswith(text_types)
        elif not binary:
            # REST APIs pass a body that is not a binary media type as a UTF-8
            # string (AWS's content type conversion table: "UTF8-encoded string").
            # AWS does not document what becomes of invalid bytes; they are
            # replaced with U+FFFD here (the corruption users report), never base64.
            return self.body.decode("utf-8", errors="replace"), False
        if not binary:
            try:
                return self.body.decode("utf-8"), False
            except UnicodeDecodeError:
                pass
        return base64.b64encode(self.body).decode(), True
