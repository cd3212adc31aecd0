"""The local gateway's HTTP handling, with a stand-in function (no Docker):
every request gets an answer, and the connection stays usable."""

from __future__ import annotations

import base64
import http.client
import json

import pytest

from pytest_lambda_image import Invocation, events
from pytest_lambda_image.errors import ConfigError
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


PNG = b"\x89PNG\r\n\x1a\n"
PNG_RESPONSE = {"statusCode": 200, "body": base64.b64encode(PNG).decode(), "isBase64Encoded": True}


def get(gateway: LocalApiGateway, path: str = "/x", **headers: str) -> tuple[int, bytes]:
    conn = connect(gateway)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_rest_decodes_base64_responses_only_for_a_binary_accept():
    with LocalApiGateway(StandIn(PNG_RESPONSE), binary_media_types=["image/*"]) as gateway:
        assert get(gateway, Accept="image/png") == (200, PNG)
        assert get(gateway, Accept="*/*") == (200, PNG_RESPONSE["body"].encode())
        assert get(gateway, Accept="text/html,image/png;q=0.9") == (200, PNG_RESPONSE["body"].encode())
    with LocalApiGateway(StandIn(PNG_RESPONSE)) as gateway:  # no binary media types: the text
        assert get(gateway, Accept="image/png") == (200, PNG_RESPONSE["body"].encode())
    with LocalApiGateway(StandIn(PNG_RESPONSE), payload_format="2.0") as gateway:  # HTTP APIs always decode
        assert get(gateway) == (200, PNG)


def test_rest_request_bodies_use_wildcard_binary_media_types_and_replace_invalid_utf8():
    function = StandIn()
    with LocalApiGateway(function, binary_media_types=["image/*"]) as gateway:
        conn = connect(gateway)
        conn.request("POST", "/up", body=b"\x89PNG", headers={"Content-Type": "image/png; x=1"})
        conn.getresponse().read()
        conn.request("POST", "/up", body=b"caf\xe9 \xff", headers={"Content-Type": "application/octet-stream"})
        assert conn.getresponse().status == 200
        conn.close()
    binary, text = function.events
    assert binary["isBase64Encoded"] is True and base64.b64decode(binary["body"]) == b"\x89PNG"
    assert (text["body"], text["isBase64Encoded"]) == ("caf\ufffd \ufffd", False)


def test_alb_multi_value_headers_mode():
    payload = {
        "statusCode": 200,
        "headers": {"X-Ignored": "1"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": "ok",
    }
    function = StandIn(payload)
    with LocalApiGateway(function, payload_format="alb", multi_value_headers=True) as gateway:
        conn = connect(gateway)
        conn.request("GET", "/lb?t=1&t=2", headers={"X-Multi": "v"})
        response = conn.getresponse()
        assert response.read() == b"ok"
        assert response.headers.get_all("Set-Cookie") == ["a=1", "b=2"]
        assert response.headers.get("X-Ignored") is None
        conn.close()
    event = function.events[-1]
    assert event["multiValueQueryStringParameters"] == {"t": ["1", "2"]}
    assert event["multiValueHeaders"]["x-multi"] == ["v"]
    assert "headers" not in event and "queryStringParameters" not in event
    events.validate(event, "alb")


def test_gateway_settings_rest_apis_refuse():
    with pytest.raises(ConfigError, match="ALB target group setting"):
        LocalApiGateway(StandIn(), payload_format="1.0", multi_value_headers=True)
    with pytest.raises(ConfigError, match="'claims' is dict"):
        LocalApiGateway(StandIn(), authorizer=events.lambda_authorizer({"claims": {"a": 1}}))
    LocalApiGateway(StandIn(), payload_format="2.0", authorizer=events.lambda_authorizer({"claims": {"a": 1}}))


def test_a_client_reset_prints_no_traceback(capsys):
    import socket
    import struct
    import time

    class Never:
        def invoke(self, event):  # pragma: no cover - no request gets this far
            raise AssertionError

    gateway = LocalApiGateway(Never()).start()
    host, port = gateway.url.removeprefix("http://").split(":")
    client = socket.create_connection((host, int(port)))
    client.sendall(b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\npartial")
    client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    client.close()  # an RST in the middle of the request
    time.sleep(0.2)
    gateway.stop()
    assert "Traceback" not in capsys.readouterr().err
