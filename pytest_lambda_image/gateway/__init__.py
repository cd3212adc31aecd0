"""The local API Gateway: a plain-HTTP server on 127.0.0.1 that maps requests
to REST (1.0), HTTP API (2.0), Function URL or ALB events, invokes a function
and answers with the HTTP response API Gateway would send."""

from __future__ import annotations

from .server import LocalApiGateway

__all__ = ["LocalApiGateway"]
