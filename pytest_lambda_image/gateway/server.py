"""A local API Gateway: a real HTTP server on 127.0.0.1 that turns each
request into an API Gateway (REST 1.0 / HTTP API 2.0) or ALB event, invokes
the function, and answers with the HTTP response the real front would send.

    python -m pytest_lambda_image gateway my-fn:latest --route "GET /items/{id}" --port 3000
"""

from __future__ import annotations

import collections
import json
import sys
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from .._lambda import MAX_REQUEST_BYTES
from .._runtime.invocation import Invocation
from .._runtime.tracing import TRACE_HEADER, normalize_trace_id
from ..errors import ConfigError, LambdaImageError, RequestEntityTooLarge
from ..events.authorizers import Authorizer
from ..events.http_events import alb_event_from_request, http_event_from_request, rest_event_from_request
from ..events.media_types import is_binary
from ..events.request import HttpRequest
from ..events.responses import Format, HttpResponse, error_response, to_http_response
from ..events.routes import Route, select

DEFAULT_ROUTES = {"1.0": ("ANY /{proxy+}", "ANY /"), "2.0": ("$default",), "url": ("$default",), "alb": ("$default",)}
_NO_BODY_STATUSES = (204, 304)


@dataclass
class Exchange:
    """One request through the gateway, for tests to look at afterwards."""

    request: HttpRequest
    event: dict[str, Any] | None
    invocation: Invocation | None
    response: HttpResponse

    def summary(self) -> str:
        line = f"{self.request.method} {self.request.path} -> {self.response.status}"
        return f"{line} ({self.response.error})" if self.response.error else line


SHUTDOWN_POLL_S = 0.02  # serve_forever's poll: stop() waits for it (the default 0.5 s cost every gateway test)


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hangs up early (reset, broken pipe) is the client's business: no traceback.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class LocalApiGateway:
    """Serve `function` over HTTP. `invoke` is anything with
    `.invoke(event) -> Invocation` (a `LambdaFunction`).

    `binary_media_types` (REST only) are the API's binaryMediaTypes: request
    bodies of those Content-Types arrive base64-encoded, and base64 responses
    are decoded only for a request whose Accept matches one. `multi_value_headers`
    (ALB only) is the target group's multi-value headers setting."""

    def __init__(
        self,
        function: Any,
        *,
        routes: Sequence[str] | None = None,
        payload_format: Format = "1.0",
        stage: str | None = None,
        stage_variables: dict[str, str] | None = None,
        authorizer: Authorizer | None = None,
        binary_media_types: Sequence[str] = (),
        multi_value_headers: bool = False,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        if payload_format not in DEFAULT_ROUTES:
            raise LambdaImageError(f"invalid payload format {payload_format!r}: use '1.0', '2.0', 'url' or 'alb'")
        if multi_value_headers and payload_format != "alb":
            raise ConfigError("multi_value_headers is an ALB target group setting: use it with payload_format='alb'")
        if authorizer is not None and payload_format == "1.0":
            authorizer.rest()  # a context REST APIs refuse fails here, not on the first request
        self.binary_media_types = tuple(t.lower() for t in binary_media_types)
        self.multi_value_headers = multi_value_headers
        self.function = function
        self.payload_format: Format = payload_format
        try:
            self.routes = [Route.parse(r) for r in (routes or DEFAULT_ROUTES[payload_format])]
        except ValueError as exc:
            raise LambdaImageError(str(exc)) from None
        self.stage = stage or ("prod" if payload_format == "1.0" else "$default")
        self.stage_variables = stage_variables
        self.authorizer = authorizer
        self.exchanges: collections.deque[Exchange] = collections.deque(maxlen=200)
        self._host, self._port = host, port
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ------------------------------------------------------------------
    def start(self) -> LocalApiGateway:
        if self._server is None:
            self._server = _Server((self._host, self._port), _handler_for(self))
            self._server.daemon_threads = True
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(SHUTDOWN_POLL_S,), name="lambda-gateway", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def __enter__(self) -> LocalApiGateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash)."""
        if self._server is None:
            raise LambdaImageError("the gateway is not started")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"  # an AF_INET address: host is a str

    @property
    def last(self) -> Exchange | None:
        return self.exchanges[-1] if self.exchanges else None

    # -- one request --------------------------------------------------------------------
    def handle(self, request: HttpRequest, host_header: str | None) -> Exchange:
        """Route, build the event, invoke and map the response."""
        if self.payload_format == "2.0":
            request.path = unquote(request.path)  # HTTP APIs decode the path; REST, URLs and ALB do not
        found = select(self.routes, request.method, request.path)
        if found is None:
            return Exchange(request, None, None, self._no_route())
        route, params = found
        event = self._event(request, route, params, host_header)
        try:
            trace = _client_trace_id(request)  # the client's trace goes on, as through API Gateway
            invocation = self.function.invoke(event, trace_id=trace) if trace else self.function.invoke(event)
        except RequestEntityTooLarge as exc:
            return Exchange(request, event, None, _json_response(413, {"message": "Request Too Long"}, str(exc)))
        except LambdaImageError as exc:
            return Exchange(request, event, None, error_response(self.payload_format, str(exc)))
        response = to_http_response(
            invocation,
            self.payload_format,
            accept=request.header("Accept"),
            binary_media_types=self.binary_media_types,
            multi_value_headers=self.multi_value_headers,
        )
        return Exchange(request, event, invocation, response)

    def _event(self, request: HttpRequest, route: Route, params: dict[str, str], host: str | None) -> dict[str, Any]:
        if self.payload_format == "alb":
            return alb_event_from_request(request, multi_value_headers=self.multi_value_headers)
        common: dict[str, Any] = {
            "path_parameters": params,
            "stage": self.stage,
            "stage_variables": self.stage_variables,
            "authorizer": self.authorizer,
            "api_id": "localgw0001",
            "domain_name": _without_port(host),
        }
        if self.payload_format == "1.0":
            # REST APIs pass bodies as text unless their Content-Type is a binary media type.
            binary = is_binary(request.header("Content-Type"), self.binary_media_types)
            request.base64_body = request.body is not None and binary
            resource = "/" if route.template == "$default" else route.template
            return rest_event_from_request(request, resource=resource, **common)
        return http_event_from_request(request, route_key=route.key, **common)

    def answer(self, request: HttpRequest, host_header: str | None) -> Exchange:
        """`handle`, but never raises: whatever goes wrong becomes the front's error response."""
        try:
            return self.handle(request, host_header)
        except Exception as exc:  # noqa: BLE001 - the client must get an answer, the test the reason
            return Exchange(request, None, None, error_response(self.payload_format, f"gateway error: {exc!r}"))

    def _no_route(self) -> HttpResponse:
        if self.payload_format == "1.0":  # what REST APIs answer for an unknown resource
            return _json_response(403, {"message": "Missing Authentication Token"}, "no route matches")
        return _json_response(404, {"message": "Not Found"}, "no route matches")


def _json_response(status: int, body: dict[str, Any], error: str | None) -> HttpResponse:
    return HttpResponse(status, [("Content-Type", "application/json")], json.dumps(body).encode(), error)


def _without_port(host: str | None) -> str | None:
    if not host or host.endswith("]"):
        return host
    return host.rsplit(":", 1)[0]


def _handler_for(gateway: LocalApiGateway) -> Callable[..., BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "pytest-lambda-image-gateway"

        def log_message(self, format: str, *args: Any) -> None:
            pass  # tests read gateway.exchanges; a server log on stderr is noise

        def _serve(self) -> None:
            split = urlsplit(self.path)
            if self.headers.get("Transfer-Encoding"):
                # Read the body first: closing on unread data resets the
                # connection, and the client would see a broken pipe, not the 411.
                _drain_chunked(self.rfile, MAX_REQUEST_BYTES)
                reason = "chunked request bodies are not supported: send Content-Length"
                self._send(_json_response(411, {"message": "Length Required"}, reason), close=True)
                return
            length_header = (self.headers.get("Content-Length") or "0").strip()
            if not length_header.isdigit():
                self._send(_json_response(400, {"message": "Bad Request"}, "invalid Content-Length"), close=True)
                return
            length = int(length_header)
            if length > MAX_REQUEST_BYTES:
                self._send(_json_response(413, {"message": "Request Too Long"}, "body over 6 MB"), close=True)
                return
            data = self.rfile.read(length) if length else None
            headers = [(name, value) for name, value in self.headers.items()]
            request = HttpRequest(
                method=self.command,
                path=split.path or "/",
                query=parse_qsl(split.query, keep_blank_values=True),
                raw_query=split.query,
                headers=headers,
                body=data,
                source_ip=self.client_address[0],
            )
            exchange = gateway.answer(request, self.headers.get("Host"))
            gateway.exchanges.append(exchange)
            self._send(exchange.response)

        def _send(self, response: HttpResponse, close: bool = False) -> None:
            self.send_response(response.status)
            for name, value in response.headers:
                if name.lower() not in ("content-length", "transfer-encoding", "connection"):
                    self.send_header(name, value)
            bodiless = response.status in _NO_BODY_STATUSES
            if not bodiless:
                self.send_header("Content-Length", str(len(response.body)))
            if close:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if self.command != "HEAD" and not bodiless:
                self.wfile.write(response.body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _serve

    return Handler


def _drain_chunked(stream: Any, limit: int) -> None:
    """Read and drop a chunked body (up to `limit` bytes; stops at anything malformed)."""
    read = 0
    while read <= limit:
        size_line = stream.readline(1024).split(b";", 1)[0].strip()
        try:
            size = int(size_line, 16)
        except ValueError:
            return
        if size == 0:
            while stream.readline(1024).strip():  # trailers, up to the blank line
                pass
            return
        stream.read(size + 2)  # the chunk and its CRLF
        read += size


def _client_trace_id(request: HttpRequest) -> str | None:
    """The request's own X-Amzn-Trace-Id if well-formed (a malformed one is
    dropped, and the invoke gets a fresh trace)."""
    value = request.header(TRACE_HEADER)
    if not value:
        return None
    try:
        return normalize_trace_id(value)
    except LambdaImageError:
        return None
