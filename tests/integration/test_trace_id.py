"""Trace ids (issue 14): every invoke carries an X-Amzn-Trace-Id and the
function sees it as _X_AMZN_TRACE_ID (or, in a custom runtime, as the
Lambda-Runtime-Trace-Id header), through the trace relay in front of the
runtime: the RIE alone drops it."""

from __future__ import annotations

import re

import pytest
import requests

from pytest_lambda_image import InvokeError, invoke_async
from pytest_lambda_image.gateway import LocalApiGateway

TRACE = re.compile(r"Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=0\Z")
GIVEN = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


@pytest.fixture(scope="module")
def echo(python_image, lambda_engine):
    from pytest_lambda_image import LambdaFunction

    with LambdaFunction(python_image, engine=lambda_engine, handler="handlers.echo") as function:
        yield function


def test_every_invoke_carries_a_fresh_valid_trace_id_the_python_handler_sees(echo):
    first, second = echo.invoke({}), echo.invoke({})

    assert TRACE.match(first.trace_id) and TRACE.match(second.trace_id)
    assert first.trace_id != second.trace_id
    assert first.json()["env"]["_X_AMZN_TRACE_ID"] == first.trace_id
    assert second.json()["env"]["_X_AMZN_TRACE_ID"] == second.trace_id


def test_a_test_passes_its_own_trace_id(echo):
    result = echo.invoke({"big": "x" * 100_000}, trace_id=GIVEN)  # a large event: the relay's chunked path

    assert result.trace_id == GIVEN
    assert result.json()["env"]["_X_AMZN_TRACE_ID"] == GIVEN
    assert len(result.json()["event"]["big"]) == 100_000


def test_a_malformed_trace_id_is_refused_before_the_invoke(echo):
    with pytest.raises(InvokeError, match="invalid trace_id 'Root=nope'"):
        echo.invoke({}, trace_id="Root=nope")


def test_a_custom_runtime_without_a_shell_gets_lambda_runtime_trace_id(scratch_image, lambda_function_factory):
    function = lambda_function_factory(scratch_image)

    result = function.invoke({"n": 1}, trace_id=GIVEN)

    assert result.json()["trace"] == GIVEN
    assert result.json()["tenant"] == ""  # the carrier header is taken off again
    assert result.json()["argv"][0] == "/bootstrap"  # the runtime runs as itself


def test_node_runtime_sees_the_trace_id(node_image, lambda_function_factory):
    result = lambda_function_factory(node_image, handler="index.echo").invoke({}, trace_id=GIVEN)

    assert result.json()["env"]["_X_AMZN_TRACE_ID"] == GIVEN


def test_the_gateway_passes_the_clients_trace_on_or_starts_one(echo, python_image, lambda_function_factory):
    proxy = lambda_function_factory(python_image, handler="handlers.proxy")
    with LocalApiGateway(proxy, payload_format="2.0") as gateway:
        requests.get(gateway.url + "/items/1", headers={"X-Amzn-Trace-Id": GIVEN}, timeout=30)
        requests.get(gateway.url + "/items/2", timeout=30)
        given, fresh = list(gateway.exchanges)[-2:]
    assert given.invocation.trace_id == GIVEN
    assert TRACE.match(fresh.invocation.trace_id)


def test_async_retries_keep_the_events_trace_id(python_image, lambda_function_factory):
    function = lambda_function_factory(python_image, handler="handlers.fail")

    handle = invoke_async(function, {}, trace_id=GIVEN, retry_delay=0).wait()

    assert [attempt.trace_id for attempt in handle.attempts] == [GIVEN] * 3
