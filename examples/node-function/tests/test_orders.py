"""The orders function's own tests: plain pytest, the plugin does the rest.

Run from this directory with `pytest`; configuration is in pyproject.toml.
"""

import pytest

from pytest_lambda_image import Outcome

ORDER = {"items": [{"sku": "towel", "quantity": 2}]}


def test_prices_an_order(lambda_function):
    result = lambda_function.invoke(ORDER)

    assert result.ok
    order = result.json()
    assert (order["subtotal"], order["tax"], order["total"]) == (25, 5, 30)
    assert order["requestId"] == result.request_id
    assert any("order priced" in line and order["id"] in line for line in result.logs)


def test_invalid_order_is_a_function_error(lambda_function):
    result = lambda_function.invoke({"items": []})

    assert result.outcome is Outcome.FUNCTION_ERROR
    assert result.error_type == "ValidationError"
    assert result.error_message == "an order needs a non-empty 'items' list"
    # Node.js reports the stack as `trace`: the error line, then the frames
    assert result.stack_trace[0] == "ValidationError: an order needs a non-empty 'items' list"
    assert any("/var/task/index.mjs" in frame for frame in result.stack_trace[1:])


def test_rejected_reservation_is_a_function_error(lambda_function):
    result = lambda_function.invoke({"items": [{"sku": "mug", "quantity": 1}]})

    assert result.outcome is Outcome.FUNCTION_ERROR
    assert result.error_type == "OutOfStockError"
    assert result.error_message == "mug is out of stock"


@pytest.mark.lambda_function(env={"TAX_RATE": "0"})
def test_marker_overrides_env(lambda_function):
    assert lambda_function.invoke(ORDER).raise_for_error().json()["total"] == 25


@pytest.mark.lambda_function(timeout=1)
def test_slow_supplier_times_out(lambda_function):
    result = lambda_function.invoke({"items": [{"sku": "kettle", "quantity": 1}]})

    assert result.outcome is Outcome.TIMEOUT
    # what Lambda's Invoke API answers: an error document, X-Amz-Function-Error: Unhandled
    assert result.error_message == f"RequestId: {result.request_id} Error: Task timed out after 1.00 seconds"
    assert result.function_error == "Unhandled"


@pytest.mark.lambda_function(log_format="JSON")
def test_structured_logs(lambda_function):
    result = lambda_function.invoke(ORDER)

    priced = [record for record in result.log_records if record["message"].startswith("order priced")]
    assert len(priced) == 1
    assert priced[0]["level"] == "INFO" and priced[0]["requestId"] == result.request_id


@pytest.mark.lambda_function(handler="index.missing")
def test_unknown_handler_is_an_init_error(lambda_function):
    result = lambda_function.invoke(ORDER)

    assert result.outcome is Outcome.INIT_ERROR
    assert result.error_type == "Runtime.HandlerNotFound"
