"""Parsing the RIE's extension lines (as measured from RIE 1.170's log)."""

from __future__ import annotations

from pytest_lambda_image.audit.registration import parse_registration_log, registration_findings

LOG = """\
21 Nov 2026 06:09:48,969 [INFO] (rapid) External agent good-ext (b1b9e187-4f2c-4bad-b523-d3a2e0c06e8e) registered, subscribed to [INVOKE SHUTDOWN]
extension good-ext registered
21 Nov 2026 06:09:49,001 [WARNING] (rapid) Failed to register some-other-name: event SHUTDOWN: ShutdownEventNotSupportedForInternalExtension
21 Nov 2026 06:09:49,002 [WARNING] (rapid) Process extension-misnamed-ext-1 exited: exit status 1
21 Nov 2026 06:09:49,003 [INFO] (rapid) Internal agent other (0b1c) registered, subscribed to [INVOKE]
21 Nov 2026 06:09:49,004 [ERROR] (rapid) Init failed InvokeID= error=fork/exec /opt/extensions/plain-ext: permission denied
21 Nov 2026 06:09:49,005 [ERROR] (rapid) Init failed error=fork/exec /opt/extensions/dangling-ext: no such file or directory InvokeID=
"""  # noqa: E501


def test_parse():
    log = parse_registration_log(LOG)
    assert log.external == {"good-ext": "INVOKE SHUTDOWN"}
    assert log.internal == ["other"]
    assert log.refused == [("some-other-name", "event SHUTDOWN: ShutdownEventNotSupportedForInternalExtension")]
    assert log.exited == {"misnamed-ext": "exit status 1"}
    assert log.launch_errors == {"plain-ext": "permission denied", "dangling-ext": "no such file or directory"}


def test_findings_per_extension():
    log = parse_registration_log(LOG)
    findings = registration_findings(["good-ext", "plain-ext", "misnamed-ext"], log, alive={"good-ext"})
    assert [(f.where, f.rule) for f in findings] == [
        ("/opt/extensions/plain-ext", "launch-failed"),
        ("/opt/extensions/misnamed-ext", "registered-under-another-name"),
    ]
    assert registration_findings(["good-ext"], log, alive=set())[0].rule == "not-alive"
