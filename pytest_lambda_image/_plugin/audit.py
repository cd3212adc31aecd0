"""The audit plugin (`lambda_audit`): the image audit as assertions (the
`lambda_audit` fixture) and as a CI gate: `pytest --lambda-image=TAG
--lambda-audit` adds the built-in checks to the run as ordinary test items,
so a finding fails the job before the image is pushed, with or without a
test suite next to it."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from ..errors import LambdaImageError
from . import option, session
from .option import Option
from .reporting import or_fail

if TYPE_CHECKING:
    from .._runtime.engine import DockerEngine
    from .._runtime.function import LambdaFunction
    from .._runtime.image import LambdaImage
    from ..audit import ImageAudit
    from ..audit.findings import Allow, AuditReport

COLLECTOR = "lambda-audit"
CHECKS = ("extensions", "credentials", "layers", "limits", "extension-registration")
_SUMMARY = "lambda_audit"
_DETAIL = "lambda_audit_detail"
AUDIT = Option(
    "lambda_audit", "audit the function image as test items: lambda-audit::" + ", ::".join(CHECKS), kind="switch"
)
STRICT = Option("lambda_audit_strict", "audit warnings fail the run too", kind="switch")
ALLOW = Option(
    "lambda_audit_allow",
    "credential allowlist, one entry per line: rule=RULE path=GLOB fingerprint=HEX (any of them)",
    kind="linelist",
    metavar="ENTRY",
)
EXTENSIONS = Option(
    "lambda_audit_extensions",
    "extension names the image must have in /opt/extensions (checked by --lambda-audit)",
    kind="linelist",
    flag="--lambda-audit-extension",
    metavar="NAME",
)
OPTIONS = (AUDIT, STRICT, ALLOW, EXTENSIONS)


def pytest_addoption(parser: pytest.Parser) -> None:
    option.add_options(parser, OPTIONS)


_AUDITS = pytest.StashKey["AuditFactory"]()


def _switch(config: pytest.Config, which: Option) -> bool:
    from .._runtime.settings import parse_bool

    try:
        return parse_bool(option.value(config, which, False), which.name)
    except LambdaImageError as exc:
        raise pytest.UsageError(str(exc)) from None


def pytest_configure(config: pytest.Config) -> None:
    if _switch(config, AUDIT):
        config.pluginmanager.register(
            AuditGate(lambda: session_audit(config)(), lambda: _gate_function(config)), "lambda-audit-gate"
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    if _AUDITS in config.stash:
        config.stash[_AUDITS].close()


def _gate_function(config: pytest.Config) -> LambdaFunction:
    """A fresh container for the run-time extension check, as Lambda's
    non-root user: an extension only root could start fails here as on AWS."""
    from .._lambda import LAMBDA_USER
    from .._runtime.function import LambdaFunction

    settings = session.resolve(config)
    function = LambdaFunction(
        session.session_image(config), settings.function, engine=session.session_engine(config), pull="never"
    )
    function.with_kwargs(user=LAMBDA_USER)
    return or_fail(function.start)


def session_audit(config: pytest.Config) -> AuditFactory:
    if _AUDITS not in config.stash:
        allow = option.value(config, ALLOW, [])
        config.stash[_AUDITS] = AuditFactory(
            lambda: session.session_engine(config), lambda: session.session_image(config), allow
        )
    return config.stash[_AUDITS]


class AuditFactory:
    """Audits by image, each read once and kept for the session."""

    def __init__(
        self,
        engine: Callable[[], DockerEngine],
        default_image: Callable[[], LambdaImage],
        allow: list[str],
    ) -> None:
        self._engine = engine
        self._default_image = default_image
        self._allow = allow
        self._audits: dict[str, ImageAudit | LambdaImageError] = {}

    def __call__(self, image: str | LambdaImage | None = None, *, allow: list[Allow | str] | None = None) -> ImageAudit:
        __tracebackhide__ = True
        return or_fail(lambda: self._get(image, allow))

    def _get(self, image: str | LambdaImage | None, allow: list[Allow | str] | None) -> ImageAudit:
        from .._runtime.image import get_image
        from ..audit import ImageAudit
        from ..audit.findings import coerce_allowlist

        configured = coerce_allowlist(self._allow)  # checked before any image is read
        engine = self._engine()
        target = image if image is not None else self._default_image()
        if isinstance(target, str):
            target = get_image(engine, target, pull="never")
        if target.id not in self._audits:  # one read per image, whatever the allowlist; a failure too
            try:
                audit = ImageAudit.of(engine, target, allow=configured)
                audit._shared = True  # tests may `with` it; the session closes it
                self._audits[target.id] = audit
            except LambdaImageError as exc:
                self._audits[target.id] = exc
        found = self._audits[target.id]
        if isinstance(found, LambdaImageError):
            raise found.with_traceback(None)
        return found.with_allow(allow) if allow else found

    def close(self) -> None:
        from ..audit import ImageAudit

        while self._audits:
            found = self._audits.popitem()[1]
            if isinstance(found, ImageAudit):
                found.archive.close()


@pytest.fixture(scope="session")
def lambda_audit(pytestconfig: pytest.Config) -> AuditFactory:
    """`lambda_audit(image=None, allow=None)` returns the ImageAudit of an
    image (default: the configured one), read once per session:
    `lambda_audit().assert_no_credentials()`."""
    return session_audit(pytestconfig)


class AuditItem(pytest.Item):
    """One built-in check of the configured image."""

    def __init__(self, *, check: str, gate: AuditGate, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.check = check
        self._gate = gate

    def runtest(self) -> None:
        audit = self._gate.audit()
        strict = _switch(self.config, STRICT)
        expected = option.value(self.config, EXTENSIONS)
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
        from ..audit.findings import AuditFailure

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
