"""The local gateway's HTTP handling, with a stand-in function (no Docker):
every request gets an answer, and the connection stays usable."""

from __future__ import annotations

import http.client
import json

import pytest

from pytest_lambda_image import Invocation
from pytest_lambda_image.gateway import LocalApiGateway


class StandIn:
    """Answers like a function would; records the events it got."""

    def __init__(self, payload: object = None, raises: Exception | None = None) -> None:
        self.payload = payload if payload is not None else {"statusCode": 200, "body": "ok"}
        self.raises = raises
        self.events: list[dict] = []

    def invoke(self, event: dict) -> Invocation:
        self.events.append(event)
        if self.raises:
            raise self.raises
        return Invocation(200, json.dumps(self.payload).encode())


def connect(gateway: LocalApiGateway) -> http.client.HTTPConnection:
    host, port = gateway.url.removeprefix("http://").split(":")
    return http.client.HTTPConnection(host, int(port), timeout=10)


def test_an_unexpected_error_still_gets_an_answer():
    with LocalApiGateway(StandIn(raises=RuntimeError("kaboom"))) as gateway:
        conn = connect(gateway)
        conn.request("GET", "/x")
        response = conn.getresponse()
        assert response.status == 502 and json.loads(response.read()) == {"message": "Internal server error"}
        assert "kaboom" in gateway.last.response.error


@pytest.mark.parametrize(("headers", "status"), [({"Content-Length": "abc"}, 400), ({"Content-Length": "-1"}, 400)])
def test_bad_content_length(headers, status):
    with LocalApiGateway(StandIn()) as gateway:
        conn = connect(gateway)
        conn.putrequest("POST", "/x", skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value)
        conn.endheaders()
        assert conn.getresponse().status == status


def test_chunked_bodies_are_refused_cleanly():
    with LocalApiGateway(StandIn()) as gateway:
        conn = connect(gateway)
        conn.request("POST", "/x", body=iter([b"abc"]), encode_chunked=True, headers={"Transfer-Encoding": "chunked"})
        assert conn.getresponse().status == 411


def test_no_content_statuses_keep_the_connection_usable():
    with LocalApiGateway(StandIn({"statusCode": 204, "body": "ignored"})) as gateway:
        conn = connect(gateway)
        for _ in range(2):
            conn.request("GET", "/x")
            response = conn.getresponse()
            assert response.status == 204 and response.read() == b""


def test_http_api_paths_are_decoded_and_domain_has_no_port():
    function = StandIn({"ok": True})
    with LocalApiGateway(function, routes=["GET /items/{id}"], payload_format="2.0") as gateway:
        conn = connect(gateway)
        conn.request("GET", "/items/a%20b")
        assert conn.getresponse().status == 200
    event = function.events[-1]
    assert event["rawPath"] == "/items/a b" and event["pathParameters"] == {"id": "a b"}
    assert event["requestContext"]["domainName"] == "127.0.0.1"


def test_rest_bodies_are_text_unless_a_binary_media_type():
    function = StandIn()
    with LocalApiGateway(function, binary_media_types=["image/png"]) as gateway:
        conn = connect(gateway)
        conn.request("POST", "/up", body=b"\x89PNG", headers={"Content-Type": "image/png"})
        conn.getresponse().read()
        conn.request("POST", "/up", body=b"plain", headers={"Content-Type": "application/octet-stream"})
        conn.getresponse().read()
    assert [e["isBase64Encoded"] for e in function.events] == [True, False]
