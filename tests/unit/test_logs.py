"""Cutting a recorded RIE log into invocations (lines as the RIE wrote them)."""

from pytest_lambda_image._runtime.logs import LogCollector, parse_report, parse_timestamp, request_id_of_start

A = "11111111-1111-1111-1111-111111111111"
B = "22222222-2222-2222-2222-222222222222"
C = "33333333-3333-3333-3333-333333333333"

FIRST_WITH_INIT = [
    "21 Nov 2026 05:13:18,808 [INFO] (rapid) exec '/var/runtime/bootstrap' (cwd=/var/task, handler=)",
    "21 Nov 2026 05:13:19,858 [INFO] (rapid) INIT START(type: on-demand, phase: init)",
    f"START RequestId: {A} Version: $LATEST",
    "module init",
    "21 Nov 2026 05:13:19,893 [INFO] (rapid) INIT RTDONE(status: success)",
    "21 Nov 2026 05:13:19,893 [INFO] (rapid) INIT REPORT(durationMs: 35.035000)",
    f"21 Nov 2026 05:13:19,893 [INFO] (rapid) INVOKE START(requestId: {A})",
    "hello from handler",
    f"END RequestId: {A}",
    f"REPORT RequestId: {A}\tInit Duration: 0.11 ms\tDuration: 36.11 ms\tBilled Duration: 37 ms\t"
    "Memory Size: 128 MB\tMax Memory Used: 128 MB\t",
]
CRASH = [
    f"START RequestId: {B} Version: $LATEST",
    f"21 Nov 2026 05:13:22,070 [INFO] (rapid) INVOKE START(requestId: {B})",
    "crashing",
    "21 Nov 2026 05:13:22,072 [WARNING] (rapid) Process runtime-3 exited: exit status 3",
    "21 Nov 2026 05:13:22,072 [ERROR] (rapid) Invoke DONE failed: Runtime.ExitError",
]
# Timeout: the RIE's stderr line came before its stdout START line.
TIMEOUT = [
    f"21 Nov 2026 05:13:19,918 [INFO] (rapid) INVOKE START(requestId: {C})",
    f"START RequestId: {C} Version: $LATEST",
    "sleeping",
    "21 Nov 2026 05:13:21,918 [WARNING] (rapid) Reset initiated: Timeout",
    f"END RequestId: {C}",
    f"REPORT RequestId: {C}\tDuration: 2000.00 ms\tBilled Duration: 2000 ms\t"
    "Memory Size: 128 MB\tMax Memory Used: 128 MB",
]


def test_parse_report_uses_the_real_init_duration():
    report = parse_report(FIRST_WITH_INIT[-1], init_duration_ms=35.035)
    assert report.duration_ms == 36.11
    assert report.billed_duration_ms == 37
    assert report.memory_size_mb == 128
    assert report.max_memory_used_mb == 128
    assert report.init_duration_ms == 35.035


def test_parse_report_rejects_other_lines():
    assert parse_report("START RequestId: x") is None
    assert parse_report("REPORT RequestId: abc\tDuration: 1 ms") is None


def test_start_markers():
    assert request_id_of_start(f"START RequestId: {A} Version: $LATEST") == A
    assert request_id_of_start(f"x [INFO] (rapid) INVOKE START(requestId: {B})") == B
    assert request_id_of_start("hello START RequestId: nope") is None


def test_invocations_are_cut_in_order():
    collector = LogCollector()
    first, second, third = collector.ticket(), collector.ticket(), collector.ticket()
    collector.add(FIRST_WITH_INIT + CRASH + TIMEOUT)

    one = collector.result(first, timeout=0)
    assert one.request_id == A
    assert one.lines[0].endswith("INIT START(type: on-demand, phase: init)")  # init belongs to the first invoke
    assert "hello from handler" in one.lines and one.lines[-1].startswith("REPORT")
    assert one.report.init_duration_ms == 35.035

    two = collector.result(second, timeout=0)
    assert two.request_id == B
    assert two.lines[-1].endswith("Invoke DONE failed: Runtime.ExitError")
    assert two.report is None

    three = collector.result(third, timeout=0)
    assert three.request_id == C
    assert three.lines[0].endswith(f"INVOKE START(requestId: {C})")
    assert "sleeping" in three.lines
    assert three.report.duration_ms == 2000.0 and three.report.init_duration_ms is None


def test_a_cancelled_ticket_does_not_steal_the_next_request_id():
    collector = LogCollector()
    lost = collector.ticket()
    collector.cancel(lost)
    kept = collector.ticket()
    collector.add(FIRST_WITH_INIT)
    assert collector.result(kept, timeout=0).request_id == A
    assert collector.result(lost, timeout=0).lines == ()


def test_an_unfinished_invocation_returns_what_is_there():
    collector = LogCollector()
    ticket = collector.ticket()
    collector.add(FIRST_WITH_INIT[:8])
    result = collector.result(ticket, timeout=0.01)
    assert result.request_id == A and result.report is None
    assert result.lines[-1] == "hello from handler"


def test_lines_from_a_mark():
    collector = LogCollector()
    collector.ticket()
    collector.add(FIRST_WITH_INIT)
    mark = collector.issued
    collector.ticket()
    collector.add(CRASH)
    assert collector.lines_from(mark, timeout=0) == CRASH
    assert collector.lines_from(collector.issued, timeout=0) == []


def stamped(lines, start_ns=1_700_000_000_000_000_000, same_stamp_from=None):
    out = []
    for i, line in enumerate(lines):
        ns = start_ns + (i if same_stamp_from is None or i < same_stamp_from else same_stamp_from) * 1000
        seconds, frac = divmod(ns, 1_000_000_000)
        import datetime

        base = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
        out.append(f"{base}.{frac:09d}Z {line}\n".encode())
    return out


def test_overlapping_fetches_do_not_duplicate_lines():
    lines = [f"line {i}" for i in range(6)]
    raw = stamped(lines, same_stamp_from=3)  # lines 3..5 share one timestamp
    fetched = [b"".join(raw[:4]), b"".join(raw[3:])]  # the second fetch repeats line 3
    collector = LogCollector(fetch=lambda since: fetched.pop(0) if fetched else b"")
    collector.refresh()
    collector.refresh()
    assert collector.lines == lines


def test_parse_timestamp():
    assert parse_timestamp("2026-11-21T05:17:45.052123456Z") == (1795238265, 52123456)
    assert parse_timestamp("2026-11-21T05:17:45Z") == (1795238265, 0)
    assert parse_timestamp("2026-11-21T06:17:45.5+01:00") == (1795238265, 500000000)
    assert parse_timestamp("not a time") is None


def test_output_trailing_the_end_marker_stays_with_its_invocation():
    """Seen for real: a crashing runtime's last print arrives after the RIE's
    "Invoke DONE failed", and "INVOKE RTDONE" after REPORT."""
    collector = LogCollector()
    crash, after = collector.ticket(), collector.ticket()
    collector.add([*CRASH, "late output from the dying runtime"])
    assert collector.result(crash, timeout=0).lines[-1] == "late output from the dying runtime"

    collector.add([*TIMEOUT, "21 Nov 2026 05:13:21,919 [INFO] (rapid) INVOKE RTDONE(status: timeout)"])
    lines = collector.result(crash, timeout=0).lines
    assert lines[-1] == "late output from the dying runtime"
    assert collector.result(after, timeout=0).lines[-1].endswith("INVOKE RTDONE(status: timeout)")


def test_report_found_by_request_id_even_out_of_order():
    collector = LogCollector()
    first, second = collector.ticket(), collector.ticket()
    collector.add(FIRST_WITH_INIT[:-1] + CRASH[:1] + FIRST_WITH_INIT[-1:] + CRASH[1:])
    assert collector.result(first, timeout=0).report.duration_ms == 36.11
    assert collector.result(second, timeout=0).request_id == B


def test_a_line_stamped_earlier_but_written_later_is_kept():
    """docker stamps stdout and stderr separately: an older stamp can arrive late."""
    t0 = 1_700_000_000_000_000_000
    first = stamped(["stdout line"], start_ns=t0 + 2_000_000)  # 2 ms later, arrived first
    late = stamped(["stderr line"], start_ns=t0)
    fetched = [b"".join(first), b"".join(late + first)]
    collector = LogCollector(fetch=lambda since: fetched.pop(0) if fetched else b"")
    collector.refresh()
    collector.refresh()
    assert collector.lines == ["stdout line", "stderr line"]


def test_stdout_lagging_behind_the_next_invokes_stderr():
    """Seen in CI: the RIE's stderr for the second invoke arrived before the
    first invoke's init output and REPORT on stdout."""
    figures = "\tBilled Duration: 42 ms\tMemory Size: 256 MB\tMax Memory Used: 256 MB"
    collector = LogCollector()
    cold, warm = collector.ticket(), collector.ticket()
    collector.add(
        [
            "21 Nov 2026 06:18:14,936 [INFO] (rapid) exec '/var/runtime/bootstrap' (cwd=/var/task, handler=)",
            f"START RequestId: {A} Version: $LATEST",
            "21 Nov 2026 06:18:14,946 [INFO] (rapid) INIT START(type: on-demand, phase: init)",
            "21 Nov 2026 06:18:14,986 [INFO] (rapid) INIT REPORT(durationMs: 40.464000)",
            f"21 Nov 2026 06:18:14,986 [INFO] (rapid) INVOKE START(requestId: {A})",
            "21 Nov 2026 06:18:14,987 [INFO] (rapid) INVOKE RTDONE(status: success)",
            f"21 Nov 2026 06:18:14,989 [INFO] (rapid) INVOKE START(requestId: {B})",
            "21 Nov 2026 06:18:14,989 [INFO] (rapid) INVOKE RTDONE(status: success)",
            "handlers module initialised",
            "echo invoked (cold)",
            f"END RequestId: {A}",
            f"REPORT RequestId: {A}\tDuration: 41.24 ms{figures}",
            f"START RequestId: {B} Version: $LATEST",
            "echo invoked (warm)",
            f"END RequestId: {B}",
            f"REPORT RequestId: {B}\tDuration: 0.43 ms{figures}",
        ]
    )
    first = collector.result(cold, timeout=0)
    second = collector.result(warm, timeout=0)
    assert "handlers module initialised" in first.lines and "echo invoked (cold)" in first.lines
    assert first.report.init_duration_ms == 40.464
    assert f"21 Nov 2026 06:18:14,989 [INFO] (rapid) INVOKE START(requestId: {B})" in second.lines
    assert "handlers module initialised" not in second.lines and "echo invoked (warm)" in second.lines
    assert second.report.init_duration_ms is None


def test_a_retried_init_stays_with_its_invoke():
    """Captured from the RIE: a failed init is retried inside the same invoke
    (a second INIT START, phase: invoke) before that invoke's INVOKE START."""
    rapid = "21 Nov 2026 06:44:55,576 [INFO] (rapid) "
    lines = [
        rapid + "exec '/var/runtime/bootstrap' (cwd=/var/task, handler=)",
        f"START RequestId: {A} Version: $LATEST",
        rapid + "INIT START(type: on-demand, phase: init)",
        "[ERROR] RuntimeError: init failed on purpose",
        rapid + "INIT REPORT(durationMs: 66.428000)",
        rapid + "Init failed error=Runtime exited with error: exit status 1 InvokeID=",
        rapid + "INIT START(type: on-demand, phase: invoke)",
        rapid + "INIT REPORT(durationMs: 0.054000)",
        rapid + f"INVOKE START(requestId: {A})",
        rapid + "Invoke DONE failed: Sandbox.Failure",
        rapid + "Reset initiated: ReleaseFail",
        rapid + "INIT START(type: on-demand, phase: invoke)",
        f"START RequestId: {B} Version: $LATEST",
        "handlers module initialised",
        rapid + "INIT REPORT(durationMs: 49.917000)",
        rapid + f"INVOKE START(requestId: {B})",
        f"END RequestId: {B}",
        f"REPORT RequestId: {B}\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\tMax Memory Used: 1 MB",
    ]
    collector = LogCollector()
    first, second = collector.ticket(), collector.ticket()
    collector.add(lines)
    a, b = collector.result(first, timeout=0), collector.result(second, timeout=0)
    assert rapid + "INIT REPORT(durationMs: 0.054000)" in a.lines
    assert b.lines[0] == rapid + "INIT START(type: on-demand, phase: invoke)" and len(b.lines) == 7
    assert b.report.init_duration_ms == 49.917


def test_init_report_arriving_after_the_report_still_counts():
    """stderr can lag too: the INIT REPORT may come after the stdout REPORT."""
    collector = LogCollector()
    ticket = collector.ticket()
    collector.add([
        f"START RequestId: {A} Version: $LATEST",
        "21 Nov 2026 05:13:19,858 [INFO] (rapid) INIT START(type: on-demand, phase: init)",
        f"END RequestId: {A}",
        f"REPORT RequestId: {A}\tDuration: 3.00 ms\tBilled Duration: 3 ms\tMemory Size: 128 MB\tMax Memory Used: 1 MB",
        "21 Nov 2026 05:13:19,893 [INFO] (rapid) INIT REPORT(durationMs: 35.035000)",
        f"21 Nov 2026 05:13:19,893 [INFO] (rapid) INVOKE START(requestId: {A})",
    ])  # fmt: skip
    assert collector.result(ticket, timeout=0).report.init_duration_ms == 35.035


def test_a_crash_waits_for_its_lagging_stdout():
    """The crash is marked on stderr; the invoke's START and output on stdout
    can arrive a fetch later and still belong to it."""
    t0 = 1_700_000_000_000_000_000
    stderr = stamped([CRASH[1], CRASH[3], CRASH[4]], start_ns=t0)
    stdout = stamped([CRASH[0], CRASH[2]], start_ns=t0 + 1_000)
    fetches = [b"".join(stderr), b"".join(stderr + stdout)]
    collector = LogCollector(fetch=lambda since: fetches.pop(0) if fetches else b"")
    ticket = collector.ticket()
    result = collector.result(ticket, timeout=2)
    assert "crashing" in result.lines
    assert result.request_id == B and any(line.startswith("START RequestId") for line in result.lines)


def test_a_report_waits_for_the_rie_s_lagging_init_lines():
    """Cold invoke: stdout's START..REPORT all reach the log a fetch before the
    RIE's stderr (INIT START, INIT REPORT, INVOKE START): the init duration and
    the init's lines still belong to the invoke (about 1 cold start in 20)."""
    t0 = 1_700_000_000_000_000_000
    warm = f"21 Nov 2026 05:13:18,808 [INFO] (rapid) INVOKE START(requestId: {B})"
    first = stamped([warm, f"START RequestId: {B} Version: $LATEST", f"END RequestId: {B}"], start_ns=t0)
    stdout = stamped([FIRST_WITH_INIT[i] for i in (2, 3, 7, 8, 9)], start_ns=t0 + 1_000_000)
    stderr = stamped([FIRST_WITH_INIT[i] for i in (1, 4, 5, 6)], start_ns=t0 + 2_000_000)
    fetches = [b"".join(first), b"".join(stdout), b"".join(stdout), b"".join(stdout + stderr)]
    collector = LogCollector(fetch=lambda since: fetches.pop(0) if fetches else b"")
    collector.ticket()
    collector.refresh()  # the earlier invoke: the RIE writes INVOKE START lines
    ticket = collector.ticket()
    result = collector.result(ticket, timeout=2)
    assert result.report is not None and result.report.init_duration_ms == 35.035
    assert any("INIT START" in line for line in result.lines) and "module init" in result.lines


def _failed_invoke(request_id: str, text: str) -> list[str]:
    return [
        f"START RequestId: {request_id} Version: $LATEST",
        f"21 Nov 2026 06:18:15,001 [INFO] (rapid) INVOKE START(requestId: {request_id})",
        text,
        f"END RequestId: {request_id}",
        f"REPORT RequestId: {request_id}\tDuration: 1.00 ms\tBilled Duration: 1 ms\tMemory Size: 128 MB\t"
        "Max Memory Used: 128 MB",
    ]


def test_a_retry_under_the_same_request_id_is_an_invoke_of_its_own():
    """Lambda retries an async event under its request id: the log has two
    invokes with one id, each cut on its own."""
    collector = LogCollector()
    first, retry = collector.ticket(), collector.ticket()
    collector.add(_failed_invoke(A, "attempt 1") + _failed_invoke(A, "attempt 2"))
    one, two = collector.result(first, timeout=0), collector.result(retry, timeout=0)
    assert one.request_id == two.request_id == A
    assert "attempt 1" in one.lines and "attempt 2" not in one.lines and one.report is not None
    assert "attempt 2" in two.lines and "attempt 1" not in two.lines and two.report is not None


def test_a_retry_whose_stderr_overtakes_the_first_attempts_stdout():
    collector = LogCollector()
    first, retry = collector.ticket(), collector.ticket()
    one_lines, two_lines = _failed_invoke(A, "attempt 1"), _failed_invoke(A, "attempt 2")
    # the retry's INVOKE START (stderr) arrives before the first attempt's stdout
    collector.add([one_lines[1], two_lines[1], one_lines[0], *one_lines[2:], two_lines[0], *two_lines[2:]])
    one, two = collector.result(first, timeout=0), collector.result(retry, timeout=0)
    assert "attempt 1" in one.lines and one.lines[-1].startswith("REPORT") and "attempt 2" not in one.lines
    assert "attempt 2" in two.lines and two.lines[-1].startswith("REPORT") and "attempt 1" not in two.lines
