"""Run-time extension check: start the image under the RIE, invoke once, and
confirm from the RIE's log that every extension registered with the
Extensions API under its file name and was still running afterwards.

The RIE starts extensions at the first invoke (not at container start) and
logs, on stderr:
  (rapid) External agent NAME (UUID) registered, subscribed to [INVOKE SHUTDOWN]
An extension that registers under another name counts as an "Internal agent"
(or is refused: "Failed to register OTHER: ..."), one that exits shows
"Process extension-NAME-N exited: STATUS", and one that cannot be started
shows "Init failed ... error=fork/exec /opt/extensions/NAME: REASON".
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .extensions import EXTENSIONS_DIR
from .findings import AuditReport, Finding

if TYPE_CHECKING:
    from .._runtime.function import LambdaFunction

CHECK = "extension-registration"

_EXTERNAL = re.compile(
    r"\(rapid\) External agent (?P<name>\S+) \([^)]*\) registered, subscribed to \[(?P<events>[^\]]*)\]"
)
_INTERNAL = re.compile(r"\(rapid\) Internal agent (?P<name>\S+) \([^)]*\) registered")
_REFUSED = re.compile(r"\(rapid\) Failed to register (?P<name>\S+): (?P<reason>.+)")
_EXITED = re.compile(r"\(rapid\) Process extension-(?P<name>.+)-\d+ exited: (?P<status>.+)")
_LAUNCH = re.compile(r"error=fork/exec /opt/extensions/(?P<name>[^:\s]+): (?P<reason>.+?)(?= InvokeID=|$)")


@dataclass
class RegistrationLog:
    """What the RIE's log says about extensions."""

    external: dict[str, str] = field(default_factory=dict)  # name -> subscribed events
    internal: list[str] = field(default_factory=list)  # names registered that match no file
    refused: list[tuple[str, str]] = field(default_factory=list)  # (name, reason)
    exited: dict[str, str] = field(default_factory=dict)  # file name -> exit status
    launch_errors: dict[str, str] = field(default_factory=dict)  # file name -> reason


def parse_registration_log(text: str) -> RegistrationLog:
    log = RegistrationLog()
    for line in text.splitlines():
        if match := _EXTERNAL.search(line):
            log.external[match["name"]] = match["events"]
        elif match := _INTERNAL.search(line):
            log.internal.append(match["name"])
        elif match := _REFUSED.search(line):
            log.refused.append((match["name"], match["reason"].strip()))
        elif match := _EXITED.search(line):
            log.exited.setdefault(match["name"], match["status"].strip())
        elif match := _LAUNCH.search(line):
            log.launch_errors.setdefault(match["name"], match["reason"].strip())
    return log


def registration_findings(names: Iterable[str], log: RegistrationLog, alive: set[str]) -> list[Finding]:
    findings = []

    def report(name: str, rule: str, message: str) -> None:
        path = f"{EXTENSIONS_DIR}/{name}"
        findings.append(Finding(CHECK, rule, path, message, path=path))

    others = [*log.internal, *(name for name, _ in log.refused)]
    for name in names:
        if name in log.launch_errors:
            report(name, "launch-failed", f"could not be started: {log.launch_errors[name]}")
        elif name not in log.external:
            if others:
                seen = "; ".join([*(f"{n} registered" for n in log.internal), *(f"{n}: {r}" for n, r in log.refused)])
                report(
                    name,
                    "registered-under-another-name",
                    f"did not register as {name!r}, and a registration under another name was seen ({seen}): "
                    "send the file name in the Lambda-Extension-Name header",
                )
            elif name in log.exited:
                report(
                    name, "not-registered", f"exited ({log.exited[name]}) without registering with the Extensions API"
                )
            else:
                report(name, "not-registered", "never registered with the Extensions API")
        elif name not in alive:
            status = f" ({log.exited[name]})" if name in log.exited else ""
            report(
                name,
                "not-alive",
                f"registered, but was no longer running after an invoke{status}: an extension must keep "
                "calling /extension/event/next until SHUTDOWN",
            )
    return findings


def running_extensions(function: LambdaFunction) -> set[str]:
    """File names of /opt/extensions programs running in the container. A
    script shows as its interpreter's process (`python3 /opt/extensions/x`),
    so every word of the command line counts. `docker top` needs nothing
    installed in the image."""
    top: dict[str, Any] = function.get_wrapped_container().top()
    titles = top.get("Titles") or []
    column = titles.index("CMD") if "CMD" in titles else -1
    prefix = EXTENSIONS_DIR + "/"
    names = set()
    for process in top.get("Processes") or []:
        for word in (process[column] if process else "").split()[:4]:
            if word.startswith(prefix):
                names.add(word[len(prefix) :])
    return names


def check_registration(function: LambdaFunction, names: Iterable[str], event: Any = None) -> AuditReport:
    """Invoke `function` (a started LambdaFunction) once, then read its log and
    process list. Every name in `names` must have registered and be alive."""
    names = sorted(set(names))
    invocation = function.invoke({} if event is None else event)
    alive = running_extensions(function) if function.is_running() else set()
    log = parse_registration_log(function.logs())
    findings = registration_findings(names, log, alive)
    if findings and invocation.outcome.value not in ("success", "function_error"):
        detail = (invocation.error_type or invocation.text[:200] or f"HTTP {invocation.status_code}").strip()
        findings.append(
            Finding(
                CHECK,
                "invoke-failed",
                "invoke",
                f"the invoke ended with {invocation.outcome.value}: {detail}",
                path="invoke",
            )
        )
    checked = f"{len(names)} extension(s) run under the RIE: {', '.join(names)}"
    return AuditReport(CHECK, function.image, findings, checked=checked)
