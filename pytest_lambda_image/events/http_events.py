"""HTTP-triggered events: API Gateway REST (payload 1.0), HTTP API (payload
2.0), Lambda Function URLs and Application Load Balancer targets.

Each public factory takes friendly arguments; each `*_from_request` builds
the event from an `HttpRequest` (the local gateway uses those directly).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from ._common import ACCOUNT_ID, REGION, apply_overrides, clf_time, epoch_ms, now, request_id, short_id, trace_id
from .authorizers import Authorizer
from .request import TEXT_CONTENT_TYPES, HttpRequest, MultiMap, pairs
from .routes import DEFAULT_ROUTE, Route, path_parameters

USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) pytest-lambda-image"


def _default_headers(request: HttpRequest, domain: str, moment: _dt.datetime) -> list[tuple[str, str]]:
    """Headers the front adds or the client always sends, unless the caller set them."""
    present = {name.lower() for name, _ in request.headers}
    defaults = [
        ("Host", domain),
        ("User-Agent", USER_AGENT),
        ("X-Amzn-Trace-Id", trace_id(moment)),
        ("X-Forwarded-For", request.source_ip),
        ("X-Forwarded-Port", "443"),
        ("X-Forwarded-Proto", "https"),
    ]
    if request.body is not None:
        defaults.append(("Content-Length", str(len(request.body))))
    return [(n, v) for n, v in defaults if n.lower() not in present] + list(request.headers)


def _single_and_multi(items: list[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    """Payload 1.0 keeps every value in multi*, and the last one in the single map."""
    if not items:
        return None, None
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in items:
        single[name] = value
        multi.setdefault(name, []).append(value)
    return single, multi


def _api_identity(api_id: str | None, domain_name: str | None) -> tuple[str, str]:
    """An API id and its execute-api domain, unless given."""
    api_id = api_id or short_id()
    return api_id, domain_name or f"{api_id}.execute-api.{REGION}.amazonaws.com"


def _resolve_route(request: HttpRequest, route: str | None, path_params: Mapping[str, str] | None) -> tuple[str, dict]:
    template = route or request.path
    if path_params is not None:
        return template, dict(path_params)
    found = path_parameters(template, request.path) if "{" in template else {}
    if found is None:
        raise ValueError(f"path {request.path!r} does not match route {template!r}")
    return template, found


# -- API Gateway REST API, payload format 1.0 ----------------------------------------


def rest_event_from_request(
    request: HttpRequest,
    *,
    resource: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    stage: str = "prod",
    stage_variables: Mapping[str, str] | None = None,
    authorizer: Authorizer | None = None,
    api_id: str | None = None,
    domain_name: str | None = None,
    account_id: str = ACCOUNT_ID,
    moment: _dt.datetime | None = None,
) -> dict[str, Any]:
    moment = moment or now()
    api_id, domain = _api_identity(api_id, domain_name)
    template, params = _resolve_route(request, resource, path_parameters)
    headers, multi_headers = _single_and_multi(_default_headers(request, domain, moment))
    query, multi_query = _single_and_multi(request.query)
    body, is_base64 = request.event_body()
    identity = {
        "cognitoIdentityPoolId": None,
        "accountId": None,
        "cognitoIdentityId": None,
        "caller": None,
        "sourceIp": request.source_ip,
        "principalOrgId": None,
        "accessKey": None,
        "cognitoAuthenticationType": None,
        "cognitoAuthenticationProvider": None,
        "userArn": None,
        "userAgent": request.header("User-Agent") or USER_AGENT,
        "user": None,
        "apiKey": None,
        "apiKeyId": None,
        "clientCert": None,
    }
    context: dict[str, Any] = {
        "resourceId": short_id(6),
        "resourcePath": template,
        "httpMethod": request.method,
        "extendedRequestId": short_id(16),
        "requestTime": clf_time(moment),
        "path": f"/{stage}{request.path}",
        "accountId": account_id,
        "protocol": request.protocol,
        "stage": stage,
        "domainPrefix": domain.split(".", 1)[0],
        "requestTimeEpoch": epoch_ms(moment),
        "requestId": request_id(),
        "identity": identity,
        "domainName": domain,
        "apiId": api_id,
    }
    if authorizer is not None:
        identity.update(authorizer.rest_identity())
        if authorizer.rest() is not None:
            context["authorizer"] = authorizer.rest()
    return {
        "resource": template,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": params or None,
        "stageVariables": dict(stage_variables) if stage_variables else None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def apigw_rest(
    method: str = "GET",
    path: str = "/",
    *,
    resource: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    query: MultiMap | str | None = None,
    headers: MultiMap | None = None,
    body: str | bytes | None = None,
    json_body: Any = None,
    form: MultiMap | None = None,
    stage: str = "prod",
    stage_variables: Mapping[str, str] | None = None,
    authorizer: Authorizer | None = None,
    source_ip: str = "203.0.113.10",
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST API proxy event (payload format 1.0).

    `resource` is the route template (`/items/{id}`); path parameters are
    taken from `path` unless given. `query` and `headers` take a dict (a list
    value repeats the name) or (name, value) pairs; `body` is text (`str`) or
    binary (`bytes`, sent base64-encoded). `overrides` deep-merges into the
    result (use `events.DELETE` to drop a field)."""
    request = HttpRequest.build(
        method, path, query=query, headers=headers, body=body, json_body=json_body, form=form, source_ip=source_ip
    )
    event = rest_event_from_request(
        request,
        resource=resource,
        path_parameters=path_parameters,
        stage=stage,
        stage_variables=stage_variables,
        authorizer=authorizer,
    )
    return apply_overrides(event, overrides)


# -- HTTP API and Function URLs, payload format 2.0 ------------------------------------


def http_event_from_request(
    request: HttpRequest,
    *,
    route_key: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    stage: str = "$default",
    stage_variables: Mapping[str, str] | None = None,
    authorizer: Authorizer | None = None,
    api_id: str | None = None,
    domain_name: str | None = None,
    account_id: str = ACCOUNT_ID,
    moment: _dt.datetime | None = None,
) -> dict[str, Any]:
    moment = moment or now()
    api_id, domain = _api_identity(api_id, domain_name)
    route = Route.parse(route_key) if route_key else Route("ANY", DEFAULT_ROUTE)
    if route.template == DEFAULT_ROUTE:
        params = dict(path_parameters or {})
    else:
        _, params = _resolve_route(request, route.template, path_parameters)
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in _default_headers(request, domain, moment):
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        headers[lower] = f"{headers[lower]},{value}" if lower in headers else value
    query: dict[str, str] = {}
    for name, value in request.query:
        query[name] = f"{query[name]},{value}" if name in query else value
    body, is_base64 = request.event_body(TEXT_CONTENT_TYPES)
    raw_path = request.path if stage == "$default" else f"/{stage}{request.path}"
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.key,
        "rawPath": raw_path,
        "rawQueryString": request.raw_query_string,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    if query:
        event["queryStringParameters"] = query
    context: dict[str, Any] = {
        "accountId": account_id,
        "apiId": api_id,
        "domainName": domain,
        "domainPrefix": domain.split(".", 1)[0],
        "http": {
            "method": request.method,
            "path": raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", USER_AGENT),
        },
        "requestId": short_id(16),
        "routeKey": route.key,
        "stage": stage,
        "time": clf_time(moment),
        "timeEpoch": epoch_ms(moment),
    }
    if authorizer is not None:
        context["authorizer"] = authorizer.http()
    event["requestContext"] = context
    if body is not None:
        event["body"] = body
    if params:
        event["pathParameters"] = params
    event["isBase64Encoded"] = is_base64
    if stage_variables:
        event["stageVariables"] = dict(stage_variables)
    return event


def apigw_http(
    method: str = "GET",
    path: str = "/",
    *,
    route: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    query: MultiMap | str | None = None,
    headers: MultiMap | None = None,
    cookies: list[str] | None = None,
    body: str | bytes | None = None,
    json_body: Any = None,
    form: MultiMap | None = None,
    stage: str = "$default",
    stage_variables: Mapping[str, str] | None = None,
    authorizer: Authorizer | None = None,
    source_ip: str = "203.0.113.10",
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An API Gateway HTTP API event (payload format 2.0).

    `route` is the route key's path or the whole key (`/items/{id}`,
    `GET /items/{id}`, default `$default`). Header names are lower-cased and
    repeated headers comma-joined, as HTTP APIs do; `cookies` (or Cookie
    headers) land in the `cookies` list."""
    header_pairs = list(_pairs_with_cookies(headers, cookies))
    request = HttpRequest.build(
        method, path, query=query, headers=header_pairs, body=body, json_body=json_body, form=form, source_ip=source_ip
    )
    key = None
    if route:
        key = route if (" " in route or route == DEFAULT_ROUTE) else f"{request.method} {route}"
    event = http_event_from_request(
        request,
        route_key=key,
        path_parameters=path_parameters,
        stage=stage,
        stage_variables=stage_variables,
        authorizer=authorizer,
    )
    return apply_overrides(event, overrides)


def _pairs_with_cookies(headers: MultiMap | None, cookies: list[str] | None) -> list[tuple[str, str]]:
    out = pairs(headers)
    if cookies:
        out.append(("Cookie", "; ".join(cookies)))
    return out


def function_url(
    method: str = "GET",
    path: str = "/",
    *,
    query: MultiMap | str | None = None,
    headers: MultiMap | None = None,
    cookies: list[str] | None = None,
    body: str | bytes | None = None,
    json_body: Any = None,
    form: MultiMap | None = None,
    authorizer: Authorizer | None = None,
    source_ip: str = "203.0.113.10",
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A Lambda Function URL event: payload 2.0 with route `$default`, stage
    `$default` and a `*.lambda-url.<region>.on.aws` domain (authorizer only
    for AWS_IAM auth: `iam_authorizer()`)."""
    if authorizer is not None and authorizer.kind != "iam":
        raise ValueError(f"Function URLs authorize only with AWS_IAM (iam_authorizer()), not {authorizer.kind}")
    url_id = short_id(32)
    request = HttpRequest.build(
        method,
        path,
        query=query,
        headers=_pairs_with_cookies(headers, cookies),
        body=body,
        json_body=json_body,
        form=form,
        source_ip=source_ip,
    )
    event = http_event_from_request(
        request, authorizer=authorizer, api_id=url_id, domain_name=f"{url_id}.lambda-url.{REGION}.on.aws"
    )
    return apply_overrides(event, overrides)


# -- Application Load Balancer ---------------------------------------------------------


def alb_event_from_request(
    request: HttpRequest,
    *,
    multi_value_headers: bool = False,
    target_group_arn: str | None = None,
    moment: _dt.datetime | None = None,
) -> dict[str, Any]:
    moment = moment or now()
    arn = target_group_arn or (
        f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT_ID}:targetgroup/lambda-{short_id(8)}/{short_id(16)}"
    )
    all_headers = [
        (name.lower(), value)
        for name, value in _default_headers(request, "lambda-alb-123578498.us-east-1.elb.amazonaws.com", moment)
        if name.lower() not in ("content-length",)
    ]
    # ALB passes query strings as received: still percent-encoded.
    raw_pairs = [(quote(k, safe=""), quote(v, safe="")) for k, v in request.query]
    if request.raw_query is not None:
        raw_pairs = [(p.partition("=")[0], p.partition("=")[2]) for p in request.raw_query.split("&") if p]
    body, is_base64 = request.event_body(TEXT_CONTENT_TYPES)
    event: dict[str, Any] = {
        "requestContext": {"elb": {"targetGroupArn": arn}},
        "httpMethod": request.method,
        "path": request.path,
    }
    if multi_value_headers:
        _, event["multiValueQueryStringParameters"] = _single_and_multi(raw_pairs)
        _, event["multiValueHeaders"] = _single_and_multi(all_headers)
        event["multiValueQueryStringParameters"] = event["multiValueQueryStringParameters"] or {}
    else:
        event["queryStringParameters"] = dict(raw_pairs)
        event["headers"] = dict(all_headers)
    event["body"] = body or ""
    event["isBase64Encoded"] = is_base64
    return event


def alb(
    method: str = "GET",
    path: str = "/",
    *,
    query: MultiMap | str | None = None,
    headers: MultiMap | None = None,
    body: str | bytes | None = None,
    json_body: Any = None,
    form: MultiMap | None = None,
    multi_value_headers: bool = False,
    source_ip: str = "203.0.113.10",
    overrides: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """An Application Load Balancer target event, in single-value (default) or
    multi-value header mode. Query values stay percent-encoded, as ALB sends them."""
    request = HttpRequest.build(
        method, path, query=query, headers=headers, body=body, json_body=json_body, form=form, source_ip=source_ip
    )
    event = alb_event_from_request(request, multi_value_headers=multi_value_headers)
    return apply_overrides(event, overrides)
