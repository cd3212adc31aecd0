"""HTTP event factories: shapes, casing rules, encodings, every one schema-valid."""

import base64
import json

import pytest

from pytest_lambda_image import events
from pytest_lambda_image.events import HttpRequest


def test_rest_event_is_complete_and_valid():
    event = events.apigw_rest(
        "get",
        "/items/42",
        resource="/items/{id}",
        query={"tag": ["a", "b"], "q": "x y"},
        headers=[("Accept", "text/html"), ("X-Multi", "1"), ("X-Multi", "2")],
        stage_variables={"env": "test"},
    )
    events.validate(event, "apigw-rest")
    assert event["httpMethod"] == "GET"
    assert event["resource"] == "/items/{id}" and event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"tag": "b", "q": "x y"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "q": ["x y"]}
    assert event["headers"]["X-Multi"] == "2" and event["multiValueHeaders"]["X-Multi"] == ["1", "2"]
    assert event["headers"]["Accept"] == "text/html"  # case kept in 1.0
    context = event["requestContext"]
    assert context["path"] == "/prod/items/42" and context["stage"] == "prod"
    assert context["identity"]["sourceIp"] == "203.0.113.10"
    assert event["stageVariables"] == {"env": "test"}
    assert event["body"] is None and event["isBase64Encoded"] is False


def test_request_ids_and_times_change_per_event():
    first, second = events.apigw_rest(), events.apigw_rest()
    assert first["requestContext"]["requestId"] != second["requestContext"]["requestId"]
    assert abs(first["requestContext"]["requestTimeEpoch"] - second["requestContext"]["requestTimeEpoch"]) < 5000


def test_rest_without_query_or_params_has_nulls():
    event = events.apigw_rest("GET", "/health")
    assert event["queryStringParameters"] is None and event["multiValueQueryStringParameters"] is None
    assert event["pathParameters"] is None and event["stageVariables"] is None


def test_bodies():
    json_event = events.apigw_rest("POST", "/x", json_body={"a": 1})
    assert json.loads(json_event["body"]) == {"a": 1}
    assert json_event["headers"]["Content-Type"] == "application/json"

    form_event = events.apigw_http("POST", "/x", form={"name": "Ada Lovelace", "tag": ["a", "b"]})
    # HTTP APIs send only text/*, JSON, JavaScript and XML bodies as text: a form is base64.
    assert form_event["isBase64Encoded"] is True
    assert base64.b64decode(form_event["body"]) == b"name=Ada+Lovelace&tag=a&tag=b"
    assert form_event["headers"]["content-type"] == "application/x-www-form-urlencoded"
    rest_form = events.apigw_rest("POST", "/x", form={"a": "b"})
    assert (rest_form["body"], rest_form["isBase64Encoded"]) == ("a=b", False)

    binary = bytes(range(256))
    binary_event = events.apigw_rest("POST", "/upload", body=binary, headers={"Content-Type": "image/png"})
    assert binary_event["isBase64Encoded"] is True
    assert base64.b64decode(binary_event["body"]) == binary

    text_event = events.function_url("POST", "/", body="héllo", headers={"Content-Type": "text/plain"})
    assert text_event["body"] == "héllo" and text_event["isBase64Encoded"] is False
    assert events.function_url("POST", "/", body="no type")["isBase64Encoded"] is True
    with pytest.raises(ValueError, match="only one of"):
        events.apigw_rest("POST", "/", body="a", json_body={})


def test_http_api_event_casing_cookies_and_query():
    event = events.apigw_http(
        "GET",
        "/items/42?tag=a&tag=b%20c",
        route="/items/{id}",
        headers=[("X-Multi", "1"), ("X-Multi", "2"), ("Cookie", "a=1; b=2")],
        cookies=["c=3"],
    )
    events.validate(event, "apigw-http")
    assert event["routeKey"] == "GET /items/{id}" and event["requestContext"]["routeKey"] == "GET /items/{id}"
    assert event["rawPath"] == "/items/42"
    assert event["rawQueryString"] == "tag=a&tag=b%20c"
    assert event["queryStringParameters"] == {"tag": "a,b c"}
    assert event["headers"]["x-multi"] == "1,2"
    assert all(name == name.lower() for name in event["headers"])
    assert "cookie" not in event["headers"]
    assert event["cookies"] == ["a=1", "b=2", "c=3"]
    assert event["pathParameters"] == {"id": "42"}


def test_http_api_defaults_to_the_default_route():
    event = events.apigw_http("POST", "/anything")
    assert event["routeKey"] == "$default" and "pathParameters" not in event
    assert event["rawQueryString"] == "" and "queryStringParameters" not in event


def test_query_in_the_path_and_as_an_argument_add_up():
    event = events.apigw_http("GET", "/x?a=1", query={"b": "2"})
    assert event["rawQueryString"] == "a=1&b=2" and event["queryStringParameters"] == {"a": "1", "b": "2"}
    assert events.alb("GET", "/x?a=1", query={"b": "2"})["queryStringParameters"] == {"a": "1", "b": "2"}


def test_jwt_claims_arrive_as_strings():
    claims = events.apigw_http(authorizer=events.jwt_authorizer({"exp": 123, "groups": ["a", "b"], "ok": True}))
    assert claims["requestContext"]["authorizer"]["jwt"]["claims"] == {"exp": "123", "groups": "[a b]", "ok": "true"}


def test_raw_query_string_is_encoded():
    event = events.apigw_http("GET", "/s", query={"q": "a b&c", "x": "ü"})
    assert event["rawQueryString"] == "q=a%20b%26c&x=%C3%BC"
    assert event["queryStringParameters"] == {"q": "a b&c", "x": "ü"}


def test_authorizers():
    claims = {"sub": "user-1", "scope": "read"}
    http_jwt = events.apigw_http(authorizer=events.jwt_authorizer(claims, scopes=["read"]))
    assert http_jwt["requestContext"]["authorizer"] == {"jwt": {"claims": claims, "scopes": ["read"]}}
    rest_jwt = events.apigw_rest(authorizer=events.jwt_authorizer(claims))
    assert rest_jwt["requestContext"]["authorizer"]["claims"] == claims

    rest_lambda = events.apigw_rest(authorizer=events.lambda_authorizer({"tenant": "t1"}, principal_id="u1"))
    assert rest_lambda["requestContext"]["authorizer"]["principalId"] == "u1"
    assert rest_lambda["requestContext"]["authorizer"]["tenant"] == "t1"
    http_lambda = events.apigw_http(authorizer=events.lambda_authorizer({"tenant": "t1"}))
    assert http_lambda["requestContext"]["authorizer"] == {"lambda": {"tenant": "t1"}}

    iam = events.iam_authorizer(user_arn="arn:aws:iam::123456789012:user/ci")
    assert events.apigw_rest(authorizer=iam)["requestContext"]["identity"]["userArn"].endswith("user/ci")
    url_iam = events.function_url(authorizer=iam)
    assert url_iam["requestContext"]["authorizer"]["iam"]["userArn"].endswith("user/ci")
    for event, name in ((http_jwt, "apigw-http"), (rest_lambda, "apigw-rest"), (url_iam, "apigw-http")):
        events.validate(event, name)


def test_function_url_shape():
    event = events.function_url("GET", "/path", query={"a": "1"})
    events.validate(event, "apigw-http")
    context = event["requestContext"]
    assert event["routeKey"] == "$default" and context["stage"] == "$default"
    assert context["domainName"].endswith(".lambda-url.us-east-1.on.aws")
    assert context["domainName"].split(".")[0] == context["apiId"] == context["domainPrefix"]


def test_alb_single_and_multi_value_modes():
    single = events.alb("GET", "/lambda", query={"q": "a b", "t": ["1", "2"]}, headers={"X-Multi": ["1", "2"]})
    events.validate(single, "alb")
    assert single["queryStringParameters"] == {"q": "a%20b", "t": "2"}  # still encoded, last value
    assert single["headers"]["x-multi"] == "2"
    assert single["requestContext"]["elb"]["targetGroupArn"].startswith("arn:aws:elasticloadbalancing:")
    assert single["body"] == "" and single["isBase64Encoded"] is False

    multi = events.alb(
        "GET", "/lambda", query={"t": ["1", "2"]}, headers={"X-Multi": ["1", "2"]}, multi_value_headers=True
    )
    events.validate(multi, "alb")
    assert multi["multiValueQueryStringParameters"] == {"t": ["1", "2"]}
    assert multi["multiValueHeaders"]["x-multi"] == ["1", "2"]
    assert "headers" not in multi and "queryStringParameters" not in multi


def test_overrides_merge_deeply_and_delete():
    event = events.apigw_rest(
        overrides={"requestContext": {"stage": "beta", "identity": {"sourceIp": "10.0.0.1"}}, "body": events.DELETE}
    )
    assert event["requestContext"]["stage"] == "beta"
    assert event["requestContext"]["identity"]["sourceIp"] == "10.0.0.1"
    assert event["requestContext"]["identity"]["userAgent"]  # siblings kept
    assert "body" not in event


def test_path_that_does_not_fit_the_resource():
    with pytest.raises(ValueError, match="does not match route"):
        events.apigw_rest("GET", "/other/1", resource="/items/{id}")


def test_events_survive_json():
    for event in (
        events.apigw_rest(body=b"\x00"),
        events.apigw_http(json_body=[1]),
        events.alb(multi_value_headers=True),
    ):
        assert json.loads(json.dumps(event)) == event


def test_rest_lambda_authorizer_context_arrives_as_strings():
    authorizer = events.lambda_authorizer({"tenant": "t1", "n": 123, "ratio": 1.5, "admin": True, "off": False})
    rest = events.apigw_rest(authorizer=authorizer)["requestContext"]["authorizer"]
    assert {k: rest[k] for k in ("tenant", "n", "ratio", "admin", "off")} == {
        "tenant": "t1",
        "n": "123",
        "ratio": "1.5",
        "admin": "true",
        "off": "false",
    }
    # HTTP APIs (payload 2.0) keep the context's JSON types.
    http = events.apigw_http(authorizer=authorizer)["requestContext"]["authorizer"]
    assert http == {"lambda": {"tenant": "t1", "n": 123, "ratio": 1.5, "admin": True, "off": False}}


@pytest.mark.parametrize("value", [{"a": 1}, ["a"], None])
def test_rest_lambda_authorizer_context_refuses_objects_and_arrays(value):
    with pytest.raises(ValueError, match="REST API Lambda authorizer context value 'bad'"):
        events.apigw_rest(authorizer=events.lambda_authorizer({"bad": value}))
    events.apigw_http(authorizer=events.lambda_authorizer({"bad": value}))  # fine for HTTP APIs


def test_function_url_schema():
    assert "function-url" in events.schema_names()
    plain = events.function_url("POST", "/p", query={"a": "1"}, cookies=["c=1"], json_body={"x": 1})
    signed = events.function_url(authorizer=events.iam_authorizer())
    for event in (plain, signed, events.function_url(overrides={"pathParameters": None})):
        events.validate(event, "function-url")
    assert events.problems(events.apigw_http(), "function-url")  # an execute-api domain
    assert events.problems(events.apigw_http(route="/x"), "function-url")  # a route key
    wrong_stage = events.function_url(overrides={"requestContext": {"stage": "prod"}})
    assert events.problems(wrong_stage, "function-url")
    with pytest.raises(ValueError, match="only with AWS_IAM"):
        events.function_url(authorizer=events.jwt_authorizer({"sub": "u"}))


def test_rest_bodies_that_are_not_utf8_are_text_with_replacement_characters():
    request = HttpRequest(method="POST", body=b"caf\xe9", base64_body=False)
    assert request.event_body() == ("caf\ufffd", False)
    assert HttpRequest(method="POST", body=b"caf\xe9", base64_body=True).event_body() == ("Y2Fm6Q==", True)
