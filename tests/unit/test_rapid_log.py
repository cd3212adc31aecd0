"""The RIE's debug log -> one verdict per invoke, from lines recorded off the
pinned RIE (aws-sam-cli 1.170.0) running the stand-in Python base and a
FROM-scratch custom runtime."""

from __future__ import annotations

import socket
import threading

import pytest

from pytest_lambda_image._runtime.rapid_log import (
    CRASH,
    ERROR,
    INIT_ERROR,
    RESPONSE,
    TIMEOUT,
    RapidParser,
    RapidWatch,
    Verdict,
    payloads,
    split_lines,
)

TS = "30 Nov 2026 21:25:00,680"
RID = "e422b338-7d27-4188-8698-8ee1c76858b0"


def invoke_line(number: int | None) -> bytes:
    marker = f" X-Pytest-Lambda-Invoke:[{number}]" if number is not None else ""
    return (
        f"{TS} [DEBUG] (rapid) invoke: -> POST /2015-03-31/functions/function/invocations "
        f"map[Content-Length:[2] Content-Type:[application/json]{marker}]"
    ).encode()


def start(rid: str = RID) -> bytes:
    return f"{TS} [INFO] (rapid) INVOKE START(requestId: {rid})".encode()


def post(kind: str, rid: str = RID, headers: str = "Content-Type:[application/json]") -> bytes:
    return (
        f"{TS} [DEBUG] (rapid) API request - POST /2018-06-01/runtime/invocation/{rid}/{kind}, Headers:map[{headers}]"
    ).encode()


def feed(parser: RapidParser, *lines: bytes) -> None:
    for line in lines:
        parser.feed(line)


def test_response_and_error_posts():
    parser = RapidParser()
    feed(parser, invoke_line(1), start("a-1"), post("response", "a-1"))
    feed(parser, invoke_line(2), start("a-2"), post("error", "a-2", "Lambda-Runtime-Function-Error-Type:[Unhandled]"))
    assert parser.verdicts[1].kind == RESPONSE and parser.verdicts[1].request_id == "a-1"
    assert (parser.verdicts[2].kind, parser.verdicts[2].error_type) == (ERROR, "Unhandled")


def test_a_late_response_after_a_timeout_changes_nothing():
    parser = RapidParser()
    feed(parser, invoke_line(1), start(), f"{TS} [DEBUG] (rapid) Invoke() timeout".encode(), post("response"))
    assert parser.verdicts[1].kind == TIMEOUT


def test_an_invoke_sent_straight_to_the_rie_is_not_ours():
    parser = RapidParser()
    feed(parser, invoke_line(None), start("a-0"), post("error", "a-0"))
    feed(parser, invoke_line(1), start("b-1"), post("response", "b-1"))
    assert list(parser.verdicts) == [1] and parser.verdicts[1].kind == RESPONSE


def test_crash_takes_the_first_fatal_error_and_the_reason():
    parser = RapidParser()
    feed(
        parser,
        invoke_line(3),
        start("c-1"),
        f"{TS} [WARNING] (rapid) First fatal error stored in appctx: Runtime.ExitError".encode(),
        f"{TS} [ERROR] (rapid) Invoke failed InvokeID=c-1 error=Runtime exited with error: exit status 3".encode(),
        f"{TS} [ERROR] (rapid) Invoke DONE failed: Sandbox.Failure".encode(),
    )
    verdict = parser.verdicts[3]
    assert (verdict.kind, verdict.error_type, verdict.detail) == (
        CRASH,
        "Runtime.ExitError",
        "Runtime exited with error: exit status 3",
    )


def test_an_entrypoint_that_cannot_run_is_an_init_error():
    parser = RapidParser()
    feed(
        parser,
        invoke_line(1),
        f"{TS} [WARNING] (rapid) First fatal error stored in appctx: Runtime.InvalidEntrypoint".encode(),
        f"{TS} [INFO] (rapid) INIT RTDONE(status: error)".encode(),
        f"{TS} [ERROR] (rapid) Init failed error=fork/exec /bootstrap: permission denied InvokeID=".encode(),
        start("d-1"),
        f"{TS} [ERROR] (rapid) Invoke failed error=fork/exec /bootstrap: permission denied InvokeID=d-1".encode(),
        f"{TS} [ERROR] (rapid) Invoke DONE failed: Runtime.InvalidEntrypoint".encode(),
    )
    verdict = parser.verdicts[1]
    assert (verdict.kind, verdict.error_type, verdict.detail, verdict.request_id) == (
        INIT_ERROR,
        "Runtime.InvalidEntrypoint",
        "fork/exec /bootstrap: permission denied",
        "d-1",
    )


def test_runtime_output_is_ignored():
    parser = RapidParser()
    user_print = b"API request - POST /2018-06-01/runtime/invocation/x/error (printed by user code)"
    feed(parser, invoke_line(1), start(), user_print)
    assert parser.verdicts == {}


def test_payloads_reassembles_frames_split_anywhere():
    frames = b"".join(b"\x02\x00\x00\x00" + len(p).to_bytes(4, "big") + p for p in (b"one\n", b"two\nthr", b"ee\n"))
    pieces = [frames[i : i + 3] for i in range(0, len(frames), 3)] + [b""]
    received = iter(pieces)
    assert list(split_lines(payloads(lambda n: next(received)))) == [b"one", b"two", b"three"]


def test_watch_hands_verdicts_to_waiters_and_stops_waiting_after_a_miss():
    ours, theirs = socket.socketpair()

    def frame(line: bytes) -> bytes:
        return b"\x02\x00\x00\x00" + (len(line) + 1).to_bytes(4, "big") + line + b"\n"

    watch = RapidWatch(lambda: (payloads(ours.recv), ours.close))
    watch.start()
    number = watch.next_number()
    lines = frame(invoke_line(number)) + frame(start()) + frame(post("error"))
    threading.Timer(0.05, lambda: theirs.sendall(lines)).start()
    assert watch.verdict(number, 5).kind == ERROR
    assert watch.request_id(number) == RID
    assert watch.verdict(watch.next_number(), 0.05) is None  # never came: the watch stops waiting
    assert watch.missed and watch.verdict(watch.next_number(), 5) is None
    theirs.close()
    watch.close()


def test_old_verdicts_are_forgotten(monkeypatch):
    monkeypatch.setattr("pytest_lambda_image._runtime.rapid_log.KEEP_VERDICTS", 5)
    parser = RapidParser()
    for number in range(1, 21):
        rid = f"{number:08x}-0000"
        feed(parser, invoke_line(number), start(rid), post("response", rid))
    assert sorted(parser.verdicts) == list(range(15, 21))
    assert len(parser.request_ids) == 6


def test_a_response_the_rie_refused_is_an_error():
    parser = RapidParser()
    feed(
        parser,
        invoke_line(1),
        start(),
        post("response"),
        f"{TS} [DEBUG] (rapid) Sending Error Response: Function.ResponseSizeTooLarge".encode(),
    )
    assert (parser.verdicts[1].kind, parser.verdicts[1].error_type) == (ERROR, "Function.ResponseSizeTooLarge")


def test_an_undecodable_header_does_not_stop_the_parser():
    parser = RapidParser()
    bad = post("error", headers="Lambda-Runtime-Function-Error-Type:[XX]").replace(b"XX", b"\xff\xfe")
    feed(parser, invoke_line(1), start(), bad)
    assert parser.verdicts[1].kind == ERROR


def test_a_stream_out_of_step_is_given_up():
    received = iter([b"garbage that is no frame header", b""])
    with pytest.raises(ValueError, match="not a multiplexed Docker stream"):
        list(payloads(lambda n: next(received)))


def test_an_invoke_turned_away_while_the_rie_resets_is_told_apart():
    """Right after a timeout the RIE may refuse the next invoke at its gate,
    before the runtime sees it (recorded lines): the plugin sends it again."""
    from pytest_lambda_image._runtime.function import _gate_canceled

    ours, theirs = socket.socketpair()
    watch = RapidWatch(lambda: (payloads(ours.recv), ours.close))
    watch.start()

    def frame(line: str) -> bytes:
        data = f"{TS} {line}".encode()
        return b"\x02\x00\x00\x00" + (len(data) + 1).to_bytes(4, "big") + data + b"\n"

    refused, crashed = watch.next_number(), watch.next_number()
    theirs.sendall(
        b"\x02\x00\x00\x00" + (len(invoke_line(refused)) + 1).to_bytes(4, "big") + invoke_line(refused) + b"\n"
        + frame(f"[INFO] (rapid) INVOKE START(requestId: {RID})")
        + frame(f"[ERROR] (rapid) Invoke failed error=ErrGateCanceled InvokeID={RID}")
        + frame("[ERROR] (rapid) Invoke DONE failed: Sandbox.Failure")
        + b"\x02\x00\x00\x00" + (len(invoke_line(crashed)) + 1).to_bytes(4, "big") + invoke_line(crashed) + b"\n"
        + frame(f"[INFO] (rapid) INVOKE START(requestId: {RID[:-1]}1)")
        + frame(f"[ERROR] (rapid) Invoke failed error=Runtime.ExitError InvokeID={RID[:-1]}1")
        + frame("[ERROR] (rapid) Invoke DONE failed: Sandbox.Failure")
    )
    body = b'{"errorType":"Sandbox.Failure","errorMessage":"RequestId: x Error: ..."}'
    assert _gate_canceled(watch, refused, body)
    assert not _gate_canceled(watch, crashed, body)
    assert not _gate_canceled(watch, refused, b'{"errorType":"Runtime.ExitError"}')
    theirs.close()
    watch.close()


def test_a_timeout_the_trace_relay_kept_carries_its_words():
    # trace_relay.c writes this before it stops a runtime past the function timeout
    relay = (
        b"[DEBUG] (rapid) Invoke() timeout: Task timed out after 3.00 seconds"
        b" (the trace relay keeps the function timeout)"
    )
    parser = RapidParser()
    feed(parser, invoke_line(1), start("a-1"), relay, post("response", "a-1"))
    assert parser.verdicts[1] == Verdict(TIMEOUT, "a-1", None, "Task timed out after 3.00 seconds")
def test_the_watch_tells_when_an_init_and_an_invoke_start():
    """cpu.py lifts the CPU quota for init and sets the invoke's at its start (recorded lines)."""
    ours, theirs = socket.socketpair()
    phases: list[str] = []
    watch = RapidWatch(lambda: (payloads(ours.recv), ours.close), phases.append)
    watch.start()

    def frame(line: str) -> bytes:
        data = f"{TS} {line}".encode()
        return b"\x02\x00\x00\x00" + (len(data) + 1).to_bytes(4, "big") + data + b"\n"

    number = watch.next_number()
    theirs.sendall(
        b"\x02\x00\x00\x00" + (len(invoke_line(number)) + 1).to_bytes(4, "big") + invoke_line(number) + b"\n"
        + frame("[INFO] (rapid) INIT START(type: on-demand, phase: init)")
        + frame("[INFO] (rapid) INIT RTDONE(status: success)")
        + frame(f"[INFO] (rapid) INVOKE START(requestId: {RID})")
        + frame(f"[DEBUG] (rapid) API request - POST /2018-06-01/runtime/invocation/{RID}/response, Headers:map[]")
    )
    assert watch.verdict(number, 5).kind == RESPONSE
    assert phases == ["init", "invoke"]
    theirs.close()
    watch.close()
