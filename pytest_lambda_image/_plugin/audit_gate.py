"""The CI gate: `pytest --lambda-image=TAG --lambda-audit` adds the built-in
image audit to the run as ordinary test items, so a finding fails the job
before the image is pushed, with or without a test suite next to it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from ..audit.findings import AuditFailure, AuditReport

if TYPE_CHECKING:
    from .._runtime.function import LambdaFunction
    from ..audit import ImageAudit

COLLECTOR = "lambda-audit"
CHECKS = ("extensions", "credentials", "layers", "limits", "extension-registration")
_SUMMARY = "lambda_audit"
_DETAIL = "lambda_audit_detail"


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("lambda-image")
    group.addoption(
        "--lambda-audit",
        action="store_true",
        help="audit the function image as test items: lambda-audit::" + ", ::".join(CHECKS),
    )
    group.addoption("--lambda-audit-strict", action="store_true", help="audit warnings fail the run too")
    parser.addini(
        "lambda_audit_allow",
        "credential allowlist, one entry per line: rule=RULE path=GLOB fingerprint=HEX (any of them)",
        type="linelist",
        default=[],
    )
    parser.addini(
        "lambda_audit_extensions",
        "extension names the image must have in /opt/extensions (checked by --lambda-audit)",
        type="linelist",
        default=[],
    )


class AuditItem(pytest.Item):
    """One built-in check of the configured image."""

    def __init__(self, *, check: str, gate: AuditGate, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self._gate = gate

    def runtest(self) -> None:
        audit = self._gate.audit()
        strict = bool(self.config.getoption("lambda_audit_strict"))
        expected = self.config.getini("lambda_audit_extensions") or None
        report = self._report(audit, expected)
        self.user_properties.append((_SUMMARY, report.summary()))
        if report.findings:
            self.user_properties.append((_DETAIL, report.format()))
        report.raise_for_findings(strict)

    def _report(self, audit: ImageAudit, expected: list[str] | None) -> AuditReport:
        if self.check == "extensions":
            return audit.extensions(expected)
        if self.check == "credentials":
            return audit.credentials()
        if self.check == "layers":
            return audit.layers()
        if self.check == "limits":
            return audit.limits()
        if not audit.extension_names():
            pytest.skip("no extensions in /opt/extensions to run")
        function = self._gate.start_function()
        try:
            return audit.registration(function, expected)
        finally:
            function.stop()

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, AuditFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, None, f"{COLLECTOR}::{self.check}"


class AuditCollector(pytest.Collector):
    def __init__(self, *, gate: AuditGate, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._gate = gate

    def collect(self) -> list[pytest.Item]:
        items: list[pytest.Item] = [
            AuditItem.from_parent(self, name=check, check=check, gate=self._gate) for check in CHECKS
        ]
        if self.config.pluginmanager.hasplugin("xdist"):
            # With `--dist loadgroup` they share one worker, and one read of the image.
            for item in items:
                item.add_marker(pytest.mark.xdist_group(name=COLLECTOR))
        return items


class AuditGate:
    """Registered as a plugin when --lambda-audit is given."""

    def __init__(self, audit: Callable[[], ImageAudit], start_function: Callable[[], LambdaFunction]) -> None:
        #: the configured image's audit, read on first use
        self.audit = audit
        #: a fresh container of the configured image, for the run-time check
        self.start_function = start_function
        self._lines: list[tuple[str, str]] = []
        self._details: list[str] = []

    @pytest.hookimpl(tryfirst=True)  # before -k/-m deselection, so `-k credentials` works
    def pytest_collection_modifyitems(self, session: pytest.Session, items: list[pytest.Item]) -> None:
        collector = AuditCollector.from_parent(session, name=COLLECTOR, nodeid=COLLECTOR, gate=self)
        collected = collector.collect()
        # Reported like collected tests, so "collected N items" counts them.
        session.config.hook.pytest_collectreport(
            report=pytest.CollectReport(collector.nodeid, "passed", None, result=list(collected))
        )
        # First: the audit is quick and a failed gate should say so early.
        items[:0] = collected

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" or not report.nodeid.startswith(f"{COLLECTOR}::"):
            return
        for key, value in report.user_properties:
            if key == _SUMMARY:
                self._lines.append((report.outcome, str(value)))
            elif key == _DETAIL and report.passed:
                self._details.append(str(value))  # failures already show theirs

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self._lines:
            return
        terminalreporter.section("lambda image audit")
        order = {check: i for i, check in enumerate(CHECKS)}  # xdist reports in completion order
        for outcome, line in sorted(self._lines, key=lambda item: order.get(item[1].split(":", 1)[0], len(order))):
            terminalreporter.line(f"{outcome.upper():7} {line}", red=outcome == "failed", green=outcome == "passed")
        for detail in self._details:
            terminalreporter.line(detail)
