"""The same function behind the local API Gateway (HTTP API, payload 2.0)."""

import requests


def test_create_then_read_an_order(lambda_gateway):
    created = requests.post(f"{lambda_gateway.url}/orders", json={"items": [{"sku": "towel", "quantity": 1}]})

    assert created.status_code == 201
    assert created.headers["content-type"] == "application/json"
    location = created.headers["location"]
    assert location == f"/orders/{created.json()['id']}"

    # a bare object return: the HTTP API answers 200 application/json
    fetched = requests.get(f"{lambda_gateway.url}{location}")
    assert fetched.status_code == 200
    assert fetched.json()["total"] == 15
    assert lambda_gateway.last.event["pathParameters"] == {"id": created.json()["id"]}


def test_bad_requests_are_4xx(lambda_gateway_url):
    orders = f"{lambda_gateway_url}/orders"

    assert requests.post(orders, data="not json").status_code == 400
    assert requests.post(orders, json={"items": [{"sku": "mug", "quantity": 1}]}).status_code == 409  # out of stock
    assert requests.get(f"{orders}/nope").status_code == 404


def test_unknown_route_is_404(lambda_gateway_url):
    response = requests.delete(f"{lambda_gateway_url}/orders/1")

    assert response.status_code == 404
    assert response.json() == {"message": "Not Found"}
