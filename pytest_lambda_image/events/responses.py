"""Turn what a function returned into the HTTP response its front would send:
API Gateway REST (payload 1.0), HTTP API / Function URL (2.0) or ALB.

AWS only logs why a response was malformed; here the reason is kept on the
response (`HttpResponse.error`) so a test can assert on it.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from typing_extensions import TypeGuard

from .media_types import accepts_binary

Format = Literal["1.0", "2.0", "url", "alb"]  # REST API, HTTP API, Function URL, ALB
_REST_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})
_ALB_KEYS = _REST_KEYS | {"statusDescription"}


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    error: str | None = None  # why the front answered with an error instead of the function's response

    @property
    def status_code(self) -> int:
        """`status`, under the name requests uses."""
        return self.status

    @property
    def ok(self) -> bool:
        return self.status < 400

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        """The header's values joined with ", " (any case), or None."""
        values = self.header_values(name)
        return ", ".join(values) if values else None

    def header_values(self, name: str) -> list[str]:
        return [v for n, v in self.headers if n.lower() == name.lower()]

    @property
    def cookies(self) -> list[str]:
        """The Set-Cookie header values, one per cookie."""
        return self.header_values("Set-Cookie")


def error_response(fmt: Format, reason: str) -> HttpResponse:
    """What the front answers when the function failed or its response is malformed."""
    if fmt == "alb":
        body = b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
        body += b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
        return HttpResponse(502, [("Content-Type", "text/html")], body, reason)
    message = "Internal server error" if fmt == "1.0" else "Internal Server Error"
    status = 500 if fmt == "2.0" else 502  # HTTP APIs answer 500; REST APIs and Function URLs 502
    return HttpResponse(
        status, [("Content-Type", "application/json")], json.dumps({"message": message}).encode(), reason
    )


def to_http_response(
    result: Any,
    fmt: Format = "1.0",
    *,
    accept: str | None = None,
    binary_media_types: Sequence[str] = (),
    multi_value_headers: bool = False,
) -> HttpResponse:
    """Map a function's result to an HTTP response.

    `result` is an `Invocation` (its outcome counts: a function error, timeout
    or crash becomes a 502), or the function's return value as bytes, str, or
    already-parsed JSON (dict/list/...).

    REST (1.0) decodes a base64 body only when the request's `accept` header
    (its first media type) matches one of the API's `binary_media_types`;
    otherwise the client gets the base64 text, as from a REST API without
    binary media types. `multi_value_headers` is the ALB target group setting:
    the response's headers are then read from `multiValueHeaders` only."""
    if fmt not in ("1.0", "2.0", "url", "alb"):
        raise ValueError(f"unknown response format {fmt!r}: use '1.0', '2.0', 'url' or 'alb'")
    if multi_value_headers and fmt != "alb":
        raise ValueError("multi_value_headers is an ALB target group setting: use it with fmt='alb'")
    outcome = getattr(result, "outcome", None)
    if outcome is not None:
        if not result.ok:
            return error_response(
                fmt, f"the function failed ({outcome.value}): {result.error_type}: {result.error_message}"
            )
        result = result.payload
    if isinstance(result, (bytes, bytearray, str)):
        raw = result.encode() if isinstance(result, str) else bytes(result)
        try:
            document = json.loads(raw)
        except ValueError:
            return error_response(fmt, f"the function's response is not JSON: {raw[:80]!r}")
    else:
        document = result
        raw = json.dumps(document).encode()
    if fmt in ("2.0", "url"):
        return _map_v2(document, raw, fmt)
    decode = fmt == "alb" or accepts_binary(accept, binary_media_types)
    return _map_proxy(document, fmt, decode=decode, multi_value_headers=multi_value_headers)


def _map_proxy(document: Any, fmt: Format, *, decode: bool, multi_value_headers: bool) -> HttpResponse:
    """REST payload 1.0 and ALB: a strict proxy response object."""
    if not isinstance(document, dict):
        return error_response(fmt, f"malformed proxy response: expected a JSON object, got {type(document).__name__}")
    unknown = set(document) - (_REST_KEYS if fmt == "1.0" else _ALB_KEYS)
    if unknown:
        return error_response(fmt, f"malformed proxy response: unexpected field(s) {', '.join(sorted(unknown))}")
    status = document.get("statusCode")
    if fmt == "1.0" and isinstance(status, str) and status.isdigit():
        status = int(status)  # REST APIs take "201" too
    if not _is_status(status):
        return error_response(fmt, f"malformed proxy response: statusCode must be an integer 200-599, got {status!r}")
    # ALB: "You must use multiValueHeaders if you have enabled multi-value headers
    # and headers otherwise" (ELB docs, lambda-functions.html); with the setting on,
    # `headers` is ignored here (what ALB does with it is not documented).
    source = {"multiValueHeaders": document.get("multiValueHeaders")} if multi_value_headers else document
    headers, problem = _proxy_headers(source)
    if problem:
        return error_response(fmt, f"malformed proxy response: {problem}")
    body, problem = _decode_body(document, decode=decode)
    if problem:
        return error_response(fmt, f"malformed proxy response: {problem}")
    return HttpResponse(int(status), headers, body)


def _map_v2(document: Any, raw: bytes, fmt: Format) -> HttpResponse:
    """HTTP API / Function URL payload 2.0: a JSON value without statusCode is
    the body of a 200 application/json response.

    The body is the function's JSON output as it returned it: a bare string
    "hello" reaches the client as `"hello"`, quotes included. The Lambda docs'
    function URL example shows exactly that ("HTTP response (what the client
    sees)": `"Hello, world!"`, content-length 15; lambda/latest/dg/urls-invocation.html);
    the API Gateway page (http-api-develop-integrations-lambda.html) shows only the
    interpreted `"body": "Hello from Lambda!"`, not the bytes the client gets."""
    if not isinstance(document, dict) or "statusCode" not in document:
        return HttpResponse(200, [("Content-Type", "application/json")], raw)
    status = document.get("statusCode")
    if not _is_status(status):
        return error_response(fmt, f"malformed response: statusCode must be an integer 200-599, got {status!r}")
    headers: list[tuple[str, str]] = []
    raw_headers = document.get("headers") or {}
    if not isinstance(raw_headers, dict):
        return error_response(fmt, "malformed response: headers must be an object")
    for name, value in raw_headers.items():
        if isinstance(value, (dict, list)):
            return error_response(fmt, f"malformed response: header {name!r} must be a string")
        headers.append((str(name), _scalar(value)))
    cookies = document.get("cookies") or []
    if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
        return error_response(fmt, "malformed response: cookies must be a list of strings")
    headers.extend(("Set-Cookie", cookie) for cookie in cookies)
    body, problem = _decode_body(document)
    if problem:
        return error_response(fmt, f"malformed response: {problem}")
    return HttpResponse(int(status), headers, body)


def _is_status(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool) and 200 <= value <= 599


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _proxy_headers(document: Mapping[str, Any]) -> tuple[list[tuple[str, str]], str | None]:
    """headers and multiValueHeaders merged: both lists' values, but a
    name/value pair given in both appears once (from multiValueHeaders)."""
    single = document.get("headers") or {}
    multi = document.get("multiValueHeaders") or {}
    if not isinstance(single, dict) or not isinstance(multi, dict):
        return [], "headers and multiValueHeaders must be objects"
    merged: list[tuple[str, str]] = []
    for name, values in multi.items():
        if not isinstance(values, list) or any(isinstance(v, (dict, list)) for v in values):
            return [], f"multiValueHeaders[{name!r}] must be a list of strings"
        merged.extend((str(name), _scalar(v)) for v in values)
    for name, value in single.items():
        if isinstance(value, (dict, list)):
            return [], f"headers[{name!r}] must be a string"
        pair = (str(name), _scalar(value))
        if pair not in merged:
            merged.append(pair)
    return merged, None


def _decode_body(document: Mapping[str, Any], decode: bool = True) -> tuple[bytes, str | None]:
    """The body's bytes; with `decode` false (a REST request whose Accept is not
    a binary media type), a base64 body reaches the client as its base64 text."""
    body = document.get("body")
    encoded = document.get("isBase64Encoded", False)
    if not isinstance(encoded, bool):
        return b"", f"isBase64Encoded must be true or false, got {encoded!r}"
    if body is None:
        return b"", None
    if not isinstance(body, str):
        return b"", f"body must be a string, got {type(body).__name__} (serialize it with json.dumps)"
    if encoded and decode:
        try:
            return base64.b64decode(body, validate=True), None
        except (binascii.Error, ValueError):
            return b"", "isBase64Encoded is true but body is not valid base64"
    return body.encode(), None
