"""A REST API's binaryMediaTypes: which request bodies travel base64-encoded,
and which base64 responses are decoded to bytes for the client.

AWS: "API Gateway uses the first Accept header from clients to determine if a
response should return binary media" and "if a request contains multiple media
types in its Accept header, API Gateway honors only the first Accept media type"
(docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-payload-encodings.html
and api-gateway-payload-encodings-workflow.html).
"""

from __future__ import annotations

from collections.abc import Iterable


def media_type(value: str | None) -> str:
    """`"Image/PNG; charset=x"` -> `"image/png"`; None -> `""`."""
    return (value or "").split(";", 1)[0].strip().lower()


def matches(kind: str, pattern: str) -> bool:
    """A binary media type (`image/png`, `image/*`, `*/*`) matching a media type."""
    pattern = media_type(pattern)
    if pattern == "*/*":
        return True
    if pattern.endswith("/*"):
        return kind.startswith(pattern[:-1])
    return kind == pattern


def is_binary(content_type: str | None, binary_media_types: Iterable[str]) -> bool:
    """Whether a request body of this Content-Type is binary for the API."""
    kind = media_type(content_type)
    return any(matches(kind, pattern) for pattern in binary_media_types)


def accepts_binary(accept: str | None, binary_media_types: Iterable[str]) -> bool:
    """Whether a base64 proxy response is decoded to bytes: only the Accept
    header's first media type counts (parameters and q-values ignored, as AWS
    documents). Without an Accept header only `*/*` matches (not confirmed
    against AWS)."""
    first = (accept or "").split(",", 1)[0]
    return is_binary(first, binary_media_types)
