"""Response streaming (issue 14): the RIE we ship takes a streamed response
from the runtime but answers with it whole (README, "Response streaming").
These tests pin that limit down, so a newer RIE that streams shows up here."""

from __future__ import annotations

import http.client

import pytest

from pytest_lambda_image import LambdaFunction

from ..conftest import IMAGES, NODE_BASE_IMAGE


@pytest.fixture(scope="module")
def streaming(lambda_image_factory, node_base_image, lambda_engine):
    image = lambda_image_factory.build(IMAGES / "node-stream", build_args={"BASE_IMAGE": NODE_BASE_IMAGE})
    with LambdaFunction(image, engine=lambda_engine, timeout=10) as function:
        yield function


def test_a_streaming_function_succeeds_with_its_chunks_joined(streaming):
    result = streaming.invoke({})

    assert result.ok, result.payload
    assert result.payload == b"first,second,last"


def test_the_rie_answers_a_streamed_response_whole_not_chunk_by_chunk(streaming):
    host, port = streaming.endpoint.split("//", 1)[1].rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.request("POST", "/2015-03-31/functions/function/invocations", body=b"{}")
    response = connection.getresponse()
    body = response.read()
    connection.close()

    assert body == b"first,second,last"
    # One buffered answer: a length up front, no chunked transfer and no
    # streaming response mode, which Lambda's streaming invoke would give.
    assert response.getheader("Content-Length") == str(len(body))
    assert response.getheader("Transfer-Encoding") is None
