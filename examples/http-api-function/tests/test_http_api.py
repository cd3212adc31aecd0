"""Talk HTTP to the function through the local API Gateway."""

import requests


def test_get_item(lambda_gateway):
    response = requests.get(f"{lambda_gateway.url}/items/42")

    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"id": "42", "name": "towel"}
    assert lambda_gateway.last.event["pathParameters"] == {"id": "42"}


def test_create_item_sets_cookies(lambda_gateway):
    response = requests.post(f"{lambda_gateway.url}/items", json={"id": "7", "name": "mug"})

    assert response.status_code == 201
    assert response.headers["location"] == "/items/7"
    assert response.cookies["last-item"] == "7" and response.cookies["session"] == "abc"


def test_repeated_query_keys_and_request_cookies(lambda_gateway):
    response = requests.get(f"{lambda_gateway.url}/search?tag=a&tag=b", headers={"Cookie": "theme=dark; lang=en"})

    assert response.json() == {"tags": ["a", "b"], "cookies": ["theme=dark", "lang=en"]}


def test_binary_response(lambda_gateway):
    response = requests.get(f"{lambda_gateway.url}/pixel.png")

    assert response.headers["Content-Type"] == "image/png"
    assert response.content.startswith(b"\x89PNG")


def test_unknown_route_is_404(lambda_gateway_url):
    assert requests.get(f"{lambda_gateway_url}/nowhere").status_code == 404


def test_malformed_response_is_500_with_the_reason(lambda_gateway):
    response = requests.get(f"{lambda_gateway.url}/broken")

    assert response.status_code == 500  # HTTP APIs answer 500; REST APIs 502
    assert response.json() == {"message": "Internal Server Error"}
    assert "statusCode must be an integer" in lambda_gateway.last.response.error
