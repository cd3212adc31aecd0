"""Events through a real function, and the local API Gateway over real HTTP."""

from __future__ import annotations

import base64
import os
import signal
import subprocess
import sys
import threading

import pytest
import requests

from pytest_lambda_image import events
from pytest_lambda_image.gateway import LocalApiGateway


@pytest.fixture(scope="module")
def echo_fn(python_image, lambda_engine):
    from pytest_lambda_image import LambdaFunction

    with LambdaFunction(python_image, engine=lambda_engine, handler="handlers.raw_echo") as function:
        yield function


@pytest.fixture(scope="module")
def proxy_fn(python_image, lambda_engine):
    from pytest_lambda_image import LambdaFunction

    with LambdaFunction(python_image, engine=lambda_engine, handler="handlers.proxy", timeout=10) as function:
        yield function


@pytest.mark.parametrize(
    "factory",
    [
        lambda: events.apigw_rest(
            "POST", "/items/42", resource="/items/{id}", json_body={"a": 1}, query={"t": ["1", "2"]}
        ),
        lambda: events.apigw_http("GET", "/items/42", route="/items/{id}", cookies=["c=1"], body=b"\x00\x01"),
        lambda: events.function_url("POST", "/", form={"x": "y z"}),
        lambda: events.alb("GET", "/lb", multi_value_headers=True),
        lambda: events.sqs(["a", {"b": 1}]),
        lambda: events.sns("hello"),
        lambda: events.s3_put("k e y.txt"),
        lambda: events.scheduled(),
        lambda: events.dynamodb_stream([events.dynamodb_record(keys={"pk": "1"}, new_image={"n": 1.5})]),
        lambda: events.kinesis([b"\x00\xff"]),
    ],
    ids=["rest", "http", "url", "alb", "sqs", "sns", "s3", "scheduled", "dynamodb", "kinesis"],
)
def test_the_function_receives_exactly_the_factory_event(echo_fn, factory):
    event = factory()
    assert echo_fn.invoke(event).raise_for_error().json() == event


@pytest.mark.parametrize(
    "make",
    [
        lambda payloads: events.dynamodb_stream(
            [events.dynamodb_record(keys={"id": str(n)}, new_image={"payload": p}) for n, p in enumerate(payloads)]
        ),
        lambda payloads: events.kinesis([events.kinesis_record(p) for p in payloads]),
        lambda payloads: events.sqs(payloads),
    ],
    ids=["dynamodb", "kinesis", "sqs"],
)
def test_only_the_failed_record_and_a_streams_later_ones_are_retried(python_image, lambda_function_factory, make):
    from pytest_lambda_image import batch_result

    function = lambda_function_factory(python_image, handler="handlers.batch_failures")
    event = make(["ok", "ok", "fail", "ok"])
    records = event["Records"]

    result = batch_result(event, function.invoke(event))

    assert not result.complete_failure, result.reason
    expected = [records[2]] if result.source == "sqs" else records[2:]  # a stream resumes from the failed record
    assert list(result.retried) == expected and list(result.succeeded) == [r for r in records if r not in expected]


def cookies_of(response: requests.Response) -> list[str]:
    return response.raw.headers.getlist("Set-Cookie")


# -- REST API (payload 1.0) ---------------------------------------------------------------


@pytest.fixture
def rest_gateway(proxy_fn):
    routes = ["GET /items/{id}", "POST /upload/binary", "ANY /files/{path+}", "GET /broken", "GET /fail"]
    with LocalApiGateway(
        proxy_fn,
        routes=routes,
        payload_format="1.0",
        stage_variables={"env": "t"},
        binary_media_types=["application/octet-stream"],
    ) as gateway:
        yield gateway


def test_rest_path_params_query_and_cookies(rest_gateway):
    response = requests.get(f"{rest_gateway.url}/items/42?tag=a&tag=b&empty=")

    assert response.status_code == 200
    body = response.json()
    assert body["route"] == "/items/{id}" and body["pathParameters"] == {"id": "42"}
    assert body["query"] == {"tag": ["a", "b"], "empty": [""]}
    assert cookies_of(response) == ["a=1; Path=/", "b=2; HttpOnly"]
    event = rest_gateway.last.event
    events.validate(event, "apigw-rest")
    assert event["stageVariables"] == {"env": "t"}
    assert event["requestContext"]["identity"]["sourceIp"] == "127.0.0.1"


def test_rest_greedy_path_and_any_method(rest_gateway):
    response = requests.delete(f"{rest_gateway.url}/files/a/b/c.txt")
    assert response.json()["pathParameters"] == {"path": "a/b/c.txt"}
    assert response.json()["method"] == "DELETE"


def test_binary_up_and_down(rest_gateway):
    payload = bytes(range(256)) * 4
    binary = {"Content-Type": "application/octet-stream", "Accept": "application/octet-stream"}
    response = requests.post(f"{rest_gateway.url}/upload/binary", data=payload, headers=binary)
    assert response.status_code == 200
    assert response.content == payload[::-1]
    assert rest_gateway.last.event["isBase64Encoded"] is True
    # requests' default Accept (*/*) is not a binary media type: a REST API sends the base64 text.
    text = requests.post(f"{rest_gateway.url}/upload/binary", data=payload, headers={**binary, "Accept": "*/*"})
    assert base64.b64decode(text.content) == payload[::-1]


def test_unmatched_route_is_403_like_rest_apis(rest_gateway):
    response = requests.get(f"{rest_gateway.url}/nowhere")
    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}
    assert rest_gateway.last.invocation is None


def test_malformed_response_and_function_error_are_502(rest_gateway):
    broken = requests.get(f"{rest_gateway.url}/broken")
    assert broken.status_code == 502 and broken.json() == {"message": "Internal server error"}
    assert "statusCode must be an integer" in rest_gateway.last.response.error

    failed = requests.get(f"{rest_gateway.url}/fail")
    assert failed.status_code == 502
    assert "RuntimeError: failing on purpose" in rest_gateway.last.response.error


def test_request_body_over_lambdas_limit_is_refused(rest_gateway):
    response = requests.post(f"{rest_gateway.url}/upload/binary", data=b"x" * (6 * 1024 * 1024 + 1))
    assert response.status_code == 413


def test_concurrent_requests(rest_gateway):
    results: list[int] = []

    def call(i: int) -> None:
        results.append(requests.get(f"{rest_gateway.url}/items/{i}").json()["pathParameters"]["id"])

    threads = [threading.Thread(target=call, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=int) == [str(i) for i in range(12)]


# -- HTTP API (payload 2.0) and ALB ---------------------------------------------------------


def test_http_api_gateway(proxy_fn):
    with LocalApiGateway(proxy_fn, routes=["GET /items/{id}", "POST /items"], payload_format="2.0") as gateway:
        response = requests.get(f"{gateway.url}/items/7?tag=a&tag=b", cookies={"session": "s1", "theme": "dark"})
        body = response.json()
        assert body["route"] == "GET /items/{id}" and body["pathParameters"] == {"id": "7"}
        assert body["query"] == {"tag": "a,b"}
        assert sorted(body["cookies"]) == ["session=s1", "theme=dark"]
        assert cookies_of(response) == ["a=1; Path=/", "b=2; HttpOnly"]
        events.validate(gateway.last.event, "apigw-http")

        posted = requests.post(f"{gateway.url}/items", json={"name": "mug"})
        assert posted.json()["body"] == '{"name": "mug"}'
        assert requests.get(f"{gateway.url}/other").status_code == 404


def test_alb_gateway(proxy_fn):
    with LocalApiGateway(proxy_fn, payload_format="alb") as gateway:
        response = requests.get(f"{gateway.url}/anything?q=a%20b")
        assert response.status_code == 200
        assert response.json()["query"] == {"q": "a%20b"}
        events.validate(gateway.last.event, "alb")
        assert requests.get(f"{gateway.url}/broken").status_code == 502


def test_alb_gateway_with_multi_value_headers(proxy_fn):
    with LocalApiGateway(proxy_fn, payload_format="alb", multi_value_headers=True) as gateway:
        response = requests.get(f"{gateway.url}/anything?t=1&t=2")
        assert response.json()["query"] == {"t": ["1", "2"]}
        assert cookies_of(response) == ["a=1; Path=/", "b=2; HttpOnly"]  # from the response's multiValueHeaders
        assert "headers" not in gateway.last.event
        events.validate(gateway.last.event, "alb")


# -- the command for manual use ------------------------------------------------------------


def test_gateway_command(python_image, lambda_engine):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pytest_lambda_image",
            "gateway",
            python_image.ref,
            "--handler",
            "handlers.proxy",
            "--route",
            "GET /hello/{name}",
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first = process.stdout.readline()
        assert first.startswith(f"serving {python_image.ref} at http://127.0.0.1:"), first + process.stderr.read()
        url = first.split(" at ", 1)[1].split(" ", 1)[0]
        assert requests.get(f"{url}/hello/world").json()["pathParameters"] == {"name": "world"}
        assert process.stdout.readline().strip() == "GET /hello/world -> 200"
    finally:
        os.kill(process.pid, signal.SIGINT)
        assert process.wait(timeout=30) == 0
    label = f"pytest-lambda-image.image={python_image.ref}"
    leftovers = [
        c
        for c in lambda_engine.client.api.containers(all=True, filters={"label": label})
        if c["Labels"].get("pytest-lambda-image.pid") == str(process.pid)
    ]
    assert leftovers == []
