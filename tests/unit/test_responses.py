"""Proxy responses -> HTTP, as API Gateway (1.0, 2.0) and ALB map them."""

import base64
import json

import pytest

from pytest_lambda_image import Invocation, events
from pytest_lambda_image.events import to_http_response


def test_rest_response_with_merged_headers():
    response = to_http_response(
        {
            "statusCode": 201,
            "headers": {"X-One": "1", "X-Both": "b"},
            "multiValueHeaders": {"X-Both": ["a", "b"], "Set-Cookie": ["a=1", "b=2"]},
            "body": '{"ok": true}',
        },
        "1.0",
    )
    assert response.status == 201 and response.ok and response.error is None
    assert response.header_values("X-Both") == ["a", "b"]  # the pair given twice appears once
    assert response.header("x-one") == "1"
    assert response.cookies == ["a=1", "b=2"]
    assert response.json() == {"ok": True}


PNG = b"\x89PNG\r\n\x1a\n"
PNG_PAYLOAD = {"statusCode": 200, "body": base64.b64encode(PNG).decode(), "isBase64Encoded": True}


def test_base64_body_is_decoded_by_http_apis_urls_and_alb():
    for fmt in ("2.0", "url", "alb"):
        assert to_http_response(PNG_PAYLOAD, fmt).body == PNG


@pytest.mark.parametrize(
    ("accept", "binary_media_types"),
    [
        ("image/png", ["image/png"]),
        ("IMAGE/PNG; q=0.9", ["image/png"]),
        ("image/png", ["image/*"]),
        ("image/webp,image/*,*/*;q=0.8", ["image/webp"]),  # AWS's own browser example
        ("text/html", ["*/*"]),
        (None, ["*/*"]),
        ("image/png", ["text/plain", "image/png"]),
    ],
)
def test_rest_decodes_base64_when_accept_is_a_binary_media_type(accept, binary_media_types):
    response = to_http_response(PNG_PAYLOAD, "1.0", accept=accept, binary_media_types=binary_media_types)
    assert response.body == PNG


@pytest.mark.parametrize(
    ("accept", "binary_media_types"),
    [
        ("image/png", ()),  # a REST API without binary media types
        (None, ["image/png"]),
        ("*/*", ["image/png"]),  # curl's and requests' default Accept is not image/png
        ("application/json", ["image/*"]),
        ("text/html,image/png", ["image/png"]),  # only the first Accept media type counts
    ],
)
def test_rest_sends_the_base64_text_otherwise(accept, binary_media_types):
    response = to_http_response(PNG_PAYLOAD, "1.0", accept=accept, binary_media_types=binary_media_types)
    assert response.status == 200 and response.body == PNG_PAYLOAD["body"].encode()


def test_rest_invalid_base64_is_502_only_when_decoded():
    payload = {"statusCode": 200, "body": "!!", "isBase64Encoded": True}
    assert to_http_response(payload, "1.0").body == b"!!"
    bad = to_http_response(payload, "1.0", accept="image/png", binary_media_types=["image/png"])
    assert bad.status == 502 and "not valid base64" in bad.error
    assert "not valid base64" in to_http_response(payload, "alb").error


def test_status_code_is_status():
    response = to_http_response({"statusCode": 201, "body": "x"}, "1.0")
    assert response.status_code == response.status == 201


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"body": "no status"}, "statusCode must be an integer"),
        ({"statusCode": "two hundred", "body": ""}, "statusCode must be an integer"),
        ({"statusCode": 200, "body": {"a": 1}}, "body must be a string"),
        ({"statusCode": 200, "unexpected": 1}, "unexpected field(s) unexpected"),
        ({"statusCode": 200, "headers": {"X": ["a"]}}, "must be a string"),
        ({"statusCode": 200, "multiValueHeaders": {"X": "a"}}, "must be a list of strings"),
        ({"statusCode": 200, "isBase64Encoded": "yes"}, "isBase64Encoded must be true or false"),
        ({"statusCode": 99}, "statusCode must be an integer 200-599"),
        ({"statusCode": True}, "statusCode must be an integer"),
        ([1, 2], "expected a JSON object"),
        ('"just a string"', "expected a JSON object"),
        (b"not json at all", "not JSON"),
    ],
)
def test_rest_malformed_responses_are_502(payload, reason):
    response = to_http_response(payload, "1.0")
    assert response.status == 502
    assert response.json() == {"message": "Internal server error"}
    assert reason in response.error


def test_http_api_infers_bare_json_returns():
    for value in ({"message": "hi"}, [1, 2], "text", 42, None):
        response = to_http_response(json.dumps(value), "2.0")
        assert response.status == 200
        assert response.header("Content-Type") == "application/json"
        assert json.loads(response.body) == value


def test_a_bare_string_return_is_sent_as_its_json_text():
    # The function returned "hello": the RIE's payload is the JSON text "\"hello\"",
    # and the client gets it quoted (Lambda docs' function URL example, content-length 15).
    for fmt in ("2.0", "url"):
        response = to_http_response(Invocation(200, b'"hello"'), fmt)
        assert (response.status_code, response.body) == (200, b'"hello"')
        assert response.header("Content-Type") == "application/json"
    pretty = b'{\n  "message": "hi"\n}'
    assert to_http_response(Invocation(200, pretty), "url").body == pretty  # the text as returned


def test_alb_multi_value_headers_mode_reads_multi_value_headers():
    payload = {
        "statusCode": 200,
        "headers": {"X-Single": "ignored"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "Content-Type": ["text/plain"]},
        "body": "x",
    }
    multi = to_http_response(payload, "alb", multi_value_headers=True)
    assert multi.cookies == ["a=1", "b=2"] and multi.header("Content-Type") == "text/plain"
    assert multi.header("X-Single") is None
    with pytest.raises(ValueError, match="ALB target group setting"):
        to_http_response(payload, "1.0", multi_value_headers=True)


def test_http_api_structured_response_and_cookies():
    response = to_http_response(
        {"statusCode": 302, "headers": {"location": "/x", "x-count": 3}, "cookies": ["a=1; Path=/", "b=2"]}, "2.0"
    )
    assert response.status == 302 and response.header("location") == "/x" and response.header("x-count") == "3"
    assert response.cookies == ["a=1; Path=/", "b=2"]
    assert response.body == b""


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        ({"statusCode": "ok"}, "statusCode must be an integer"),
        ({"statusCode": 200, "cookies": "a=1"}, "cookies must be a list of strings"),
        ({"statusCode": 200, "headers": ["a"]}, "headers must be an object"),
        ({"statusCode": 200, "body": {"a": 1}}, "body must be a string"),
        (b"<html>not json</html>", "not JSON"),
    ],
)
def test_http_api_malformed_responses_are_500_and_function_urls_502(payload, reason):
    response = to_http_response(payload, "2.0")
    assert response.status == 500
    assert response.json() == {"message": "Internal Server Error"}
    assert reason in response.error
    assert to_http_response(payload, "url").status == 502


def test_alb_response_and_failure():
    ok = to_http_response({"statusCode": 200, "statusDescription": "200 OK", "headers": {"a": "b"}, "body": "x"}, "alb")
    assert (ok.status, ok.header("a"), ok.text) == (200, "b", "x")
    bad = to_http_response({"statusCode": 200, "cookies": []}, "alb")
    assert bad.status == 502 and b"502 Bad Gateway" in bad.body and "unexpected field" in bad.error


def test_function_failures_become_502_with_the_reason():
    failed = Invocation(200, b'{"errorMessage": "boom", "errorType": "ValueError"}')
    for fmt, status in (("1.0", 502), ("2.0", 500), ("url", 502), ("alb", 502)):
        response = to_http_response(failed, fmt)
        assert response.status == status
        assert "ValueError: boom" in response.error
    timed_out = to_http_response(Invocation(200, b"Task timed out after 3.00 seconds"), "1.0")
    assert timed_out.status == 502 and "timeout" in timed_out.error


def test_successful_invocation_is_mapped_from_its_payload():
    invocation = Invocation(200, json.dumps({"statusCode": 204}).encode())
    assert to_http_response(invocation, "1.0").status == 204


def test_response_schemas_agree_with_the_mapping():
    good = {"statusCode": 200, "headers": {"a": "b"}, "body": "x", "isBase64Encoded": False}
    events.validate(good, "apigw-rest-response")
    events.validate({**good, "statusDescription": "200 OK"}, "alb-response")
    events.validate({"anything": "goes"}, "apigw-http-response")
    events.validate({**good, "cookies": ["a=1"]}, "apigw-http-response")
    assert events.problems({"statusCode": 200, "body": {"a": 1}}, "apigw-rest-response")
    assert events.problems({"statusCode": "200"}, "apigw-http-response")


def test_rest_takes_a_status_code_string():
    assert to_http_response({"statusCode": "201", "body": "x"}, "1.0").status == 201
    events.validate({"statusCode": "201"}, "apigw-rest-response")


def test_unknown_format():
    with pytest.raises(ValueError, match="unknown response format"):
        to_http_response({}, "3.0")
