import re

import pytest

from pytest_lambda_image.events.routes import Route, path_parameters, select


@pytest.mark.parametrize(
    ("template", "path", "params"),
    [
        ("/items", "/items", {}),
        ("/items/{id}", "/items/42", {"id": "42"}),
        ("/items/{id}/tags/{tag}", "/items/42/tags/red", {"id": "42", "tag": "red"}),
        ("/{proxy+}", "/a/b/c", {"proxy": "a/b/c"}),
        ("/files/{path+}", "/files/x.txt", {"path": "x.txt"}),
        ("/items/{id}", "/items", None),
        ("/items/{id}", "/items/42/more", None),
        ("/files/{path+}", "/files", None),
        ("/items", "/other", None),
    ],
)
def test_path_parameters(template, path, params):
    assert path_parameters(template, path) == params


def test_route_keys():
    assert Route.parse("get /items/{id}").key == "GET /items/{id}"
    assert Route.parse("/items").method == "ANY"
    assert Route.parse("$default").key == "$default"
    for bad in ("GET items", "/a/{proxy+}/b", "/a/x{id}"):
        with pytest.raises(ValueError):
            Route.parse(bad)


@pytest.mark.parametrize("method", ["GET", "post", "Delete", "HEAD", "OPTIONS", "PATCH", "PUT", "ANY", "any"])
def test_every_api_gateway_method_is_taken(method):
    assert Route.parse(f"{method} /orders/{{id}}").method == method.upper()


@pytest.mark.parametrize("method", ["GETT", "FETCH", "CONNECT", "TRACE", "*", "G-E-T"])
def test_a_method_api_gateway_does_not_have_is_refused(method):
    with pytest.raises(ValueError, match=f"the method '{re.escape(method)}' is not one of ANY, DELETE, GET, HEAD"):
        Route.parse(f"{method} /orders/{{id}}")


def test_the_most_specific_route_wins():
    routes = [Route.parse(k) for k in ("ANY /{proxy+}", "GET /items/{id}", "GET /items/special", "$default")]
    assert select(routes, "GET", "/items/special")[0].key == "GET /items/special"
    assert select(routes, "GET", "/items/7") == (routes[1], {"id": "7"})
    assert select(routes, "POST", "/items/7")[0].key == "ANY /{proxy+}"
    assert select(routes, "GET", "/")[0].key == "$default"
    assert select([Route.parse("GET /a")], "POST", "/a") is None
