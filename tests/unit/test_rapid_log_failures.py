"""The lines that settle an invoke the runtime did not answer normally: the
RIE's refusal of a response, and its account of a failed invoke spread over
several lines. `feed` returns the invoke number only for the line that
settles it."""

from __future__ import annotations

from pytest_lambda_image._runtime.rapid_log import CRASH, ERROR, INIT_ERROR, RESPONSE, RapidParser

TS = "30 Nov 2026 21:25:00,680"
RID = "e422b338-7d27-4188-8698-8ee1c76858b0"
INVOKE = (
    f"{TS} [DEBUG] (rapid) invoke: -> POST /2015-03-31/functions/function/invocations "
    "map[Content-Type:[application/json] X-Pytest-Lambda-Invoke:[1]]"
).encode()
START = f"{TS} [INFO] (rapid) INVOKE START(requestId: {RID})".encode()
RESPONSE_POST = f"{TS} [DEBUG] (rapid) API request - POST /2018-06-01/runtime/invocation/{RID}/response".encode()
ERROR_POST = (
    f"{TS} [DEBUG] (rapid) API request - POST /2018-06-01/runtime/invocation/{RID}/error, "
    "Headers:map[Lambda-Runtime-Function-Error-Type:[Unhandled]]"
).encode()


def sending_error(error_type: str) -> bytes:
    return f"{TS} [DEBUG] (rapid) Sending Error Response: {error_type}".encode()


def test_a_refused_response_settles_as_an_error_and_returns_its_number():
    parser = RapidParser()
    for line in (INVOKE, START, RESPONSE_POST):
        parser.feed(line)
    assert parser.feed(sending_error("Function.ResponseSizeTooLarge")) == 1
    verdict = parser.verdicts[1]
    assert (verdict.kind, verdict.request_id, verdict.error_type) == (ERROR, RID, "Function.ResponseSizeTooLarge")


def test_a_sending_error_that_is_no_refusal_changes_nothing():
    parser = RapidParser()
    for line in (INVOKE, START):
        parser.feed(line)
    assert parser.feed(sending_error("Function.ResponseSizeTooLarge")) is None  # nothing settled yet
    assert 1 not in parser.verdicts
    parser.feed(RESPONSE_POST)
    assert parser.feed(sending_error("Runtime.Unknown")) is None  # not a Function.* refusal
    assert parser.verdicts[1].kind == RESPONSE

    parser = RapidParser()
    for line in (INVOKE, START, ERROR_POST):
        parser.feed(line)
    assert parser.feed(sending_error("Function.ResponseSizeTooLarge")) is None  # already an error: it stands
    assert (parser.verdicts[1].kind, parser.verdicts[1].error_type) == (ERROR, "Unhandled")


def test_a_crash_is_settled_only_by_invoke_done_failed():
    parser = RapidParser()
    for line in (INVOKE, START):
        parser.feed(line)
    assert parser.feed(f"{TS} [WARNING] (rapid) First fatal error stored in appctx: Runtime.ExitError".encode()) is None
    assert parser.feed(f"{TS} [WARNING] (rapid) First fatal error stored in appctx: Runtime.Later".encode()) is None
    assert parser.feed(f"{TS} [ERROR] (rapid) Invoke failed InvokeID={RID} error=exit status 3".encode()) is None
    assert parser.feed(f"{TS} [ERROR] (rapid) Invoke failed error=a second reason InvokeID={RID}".encode()) is None
    assert 1 not in parser.verdicts
    assert parser.feed(f"{TS} [ERROR] (rapid) Invoke DONE failed: Sandbox.Failure".encode()) == 1
    verdict = parser.verdicts[1]
    # the first fatal type and the first reason, not the DONE line's nor the later ones
    assert (verdict.kind, verdict.request_id, verdict.error_type, verdict.detail) == (
        CRASH,
        RID,
        "Runtime.ExitError",
        "exit status 3",
    )


def test_done_failed_alone_names_its_own_type():
    parser = RapidParser()
    for line in (INVOKE, START):
        parser.feed(line)
    assert parser.feed(f"{TS} [ERROR] (rapid) Invoke DONE failed: Sandbox.Failure".encode()) == 1
    verdict = parser.verdicts[1]
    assert (verdict.kind, verdict.error_type, verdict.detail) == (CRASH, "Sandbox.Failure", None)


def test_a_failed_init_makes_the_failure_an_init_error():
    parser = RapidParser()
    for line in (INVOKE, START):
        parser.feed(line)
    assert parser.feed(f"{TS} [INFO] (rapid) INIT RTDONE(status: error)".encode()) is None
    assert parser.feed(f"{TS} [ERROR] (rapid) Init failed error=fork/exec denied InvokeID=".encode()) is None
    assert parser.feed(f"{TS} [ERROR] (rapid) Invoke DONE failed: Runtime.InvalidEntrypoint".encode()) == 1
    verdict = parser.verdicts[1]
    assert (verdict.kind, verdict.error_type, verdict.detail) == (
        INIT_ERROR,
        "Runtime.InvalidEntrypoint",
        "fork/exec denied",
    )
