"""classify's four ways of telling an outcome: a failed answer the RIE saw
crash, a 200 answer with a verdict, and either without one (the body's
shape). The common cases are in test_invocation.py; these are the rest."""

from __future__ import annotations

import json

import pytest

from pytest_lambda_image import Outcome
from pytest_lambda_image._runtime.invocation import classify
from pytest_lambda_image._runtime.rapid_log import CRASH, ERROR, INIT_ERROR, RESPONSE, TIMEOUT, Verdict

LAMBDA_ERROR = b'{"errorType":"ValueError","errorMessage":"boom"}'


def test_a_200_answer_is_what_the_verdict_says():
    assert classify(200, b"Task timed out after 3.00 seconds", Verdict(TIMEOUT, "r-1")) == (
        Outcome.TIMEOUT,
        {"errorType": "Sandbox.Timedout", "errorMessage": "RequestId: r-1 Error: Task timed out after 3.00 seconds"},
    )
    assert classify(200, LAMBDA_ERROR, Verdict(RESPONSE, "r-1")) == (Outcome.SUCCESS, None)
    assert classify(200, b"", Verdict(CRASH, "r-1", "Runtime.ExitError", "exit status 3")) == (
        Outcome.RUNTIME_EXIT,
        {"errorType": "Runtime.ExitError", "errorMessage": "exit status 3"},
    )
    assert classify(200, b"", Verdict(CRASH)) == (
        Outcome.RUNTIME_EXIT,
        {"errorType": "Runtime.ExitError", "errorMessage": ""},
    )
    assert classify(200, b'{"errorMessage":"no config"}', Verdict(INIT_ERROR, error_type="Custom.Init")) == (
        Outcome.INIT_ERROR,
        {"errorMessage": "no config", "errorType": "Custom.Init"},
    )
    assert classify(200, b'{"errorType":"Mine"}', Verdict(ERROR, error_type="Header.Type")) == (
        Outcome.FUNCTION_ERROR,
        {"errorType": "Mine"},  # the document's own type wins over the header's
    )


def test_a_verdict_of_a_kind_it_does_not_know_leaves_the_body_to_tell():
    unknown = Verdict("something-new", "r-1")
    assert classify(200, LAMBDA_ERROR, unknown) == (Outcome.FUNCTION_ERROR, json.loads(LAMBDA_ERROR))
    assert classify(200, b"Task timed out after 1 seconds", unknown)[0] is Outcome.TIMEOUT
    assert classify(200, b'{"ok": 1}', unknown) == (Outcome.SUCCESS, None)


@pytest.mark.parametrize(("kind", "outcome"), [(CRASH, Outcome.RUNTIME_EXIT), (INIT_ERROR, Outcome.INIT_ERROR)])
def test_an_empty_failed_answer_takes_the_ries_reason(kind, outcome):
    assert classify(502, b" \n", Verdict(kind)) == (
        outcome,
        {"errorType": "Runtime.ExitError", "errorMessage": "Runtime exited without providing a reason"},
    )
    assert classify(502, b"", Verdict(kind, "r-2", "Runtime.Custom", "exit status 1")) == (
        outcome,
        {"errorType": "Runtime.Custom", "errorMessage": "RequestId: r-2 Error: exit status 1"},
    )


def test_a_failed_answer_with_an_error_document_is_told_by_the_document():
    # The verdict said crash, but the RIE's document names the error: its type decides.
    document = b'{"errorType":"Runtime.ExitError","errorMessage":"RequestId: r Error: exit status 3"}'
    assert classify(502, document, Verdict(CRASH))[0] is Outcome.RUNTIME_EXIT
    too_large = b'{"errorType":"Function.ResponseSizeTooLarge","errorMessage":"too big"}'
    assert classify(502, too_large, Verdict(INIT_ERROR))[0] is Outcome.FUNCTION_ERROR
    import_error = b'{"errorType":"Runtime.ImportModuleError","errorMessage":"no module"}'
    assert classify(502, import_error, Verdict(CRASH)) == (Outcome.INIT_ERROR, json.loads(import_error))


def test_a_failed_answer_with_another_verdict_is_told_by_the_body():
    # Only a crash or a failed init explains a failed answer; any other verdict leaves it to the body.
    assert classify(502, b"", Verdict(RESPONSE, "r-1")) == (Outcome.INIT_ERROR, None)
    # A timeout the trace relay kept: it stopped the runtime, and the RIE answers for a killed one.
    killed = b'{"errorType":"Runtime.ExitError","errorMessage":"RequestId: r-1 Error: Runtime exited: signal: killed"}'
    said = "Task timed out after 3.00 seconds"
    assert classify(502, killed, Verdict(TIMEOUT, "r-1", None, said)) == (
        Outcome.TIMEOUT,
        {"errorType": "Sandbox.Timedout", "errorMessage": f"RequestId: r-1 Error: {said}"},
    )
    assert classify(500, b'{"errorType":"Runtime.ExitError","errorMessage":"x"}', Verdict(ERROR))[0] is (
        Outcome.RUNTIME_EXIT
    )


def test_a_document_posted_to_error_before_the_runtime_exits_is_a_function_error():
    # aws-lambda-go after a panic: /invocation/<id>/error, then exit; the RIE answers 502.
    panic = b'{"errorMessage":"kaboom","errorType":"string","stackTrace":[]}'
    assert classify(502, panic, Verdict(ERROR, "req-1", None)) == (Outcome.FUNCTION_ERROR, json.loads(panic))


def test_go_stack_frames_read_as_lines():
    from pytest_lambda_image._runtime.invocation import Invocation

    body = json.dumps(
        {"errorMessage": "kaboom", "errorType": "string",
         "stackTrace": [{"path": "main.go", "line": 70, "label": "main.handle"}, {"odd": 1}, "plain"]}
    ).encode()
    result = Invocation(502, body, verdict=Verdict(ERROR, "req-1"))
    assert result.stack_trace == ["main.handle (main.go:70)", '{"odd": 1}', "plain"]
