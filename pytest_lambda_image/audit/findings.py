"""Audit findings and the readable reports built from them."""

from __future__ import annotations

import fnmatch
import re
import shlex
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from ..errors import ConfigError

Severity = Literal["error", "warning"]
_FINGERPRINT = re.compile(r"[0-9a-f]{16}")


@dataclass(frozen=True)
class Finding:
    """One problem: which rule, where in the image, and what to do about it.

    `value` is only ever a masked secret; audits never keep a secret in full.
    """

    check: str  # "extensions", "credentials", "layers", "limits", "registration"
    rule: str  # e.g. "not-executable", "aws-access-key-id"
    where: str  # for people: "/opt/extensions/x", "env GITHUB_TOKEN", "history step 4: RUN ..."
    message: str
    severity: Severity = "error"
    path: str = ""  # for allowlists: an image path, "env:NAME", "label:KEY", "history:N", "config:Cmd"
    value: str = ""  # masked
    fingerprint: str = ""  # a hash of the secret, to allowlist one value without writing it down

    def __str__(self) -> str:
        shown = f" {self.value}" if self.value else ""
        fingerprint = f" (fingerprint {self.fingerprint})" if self.fingerprint else ""
        return f"[{self.rule}] {self.where}: {self.message}{shown}{fingerprint}"


@dataclass(frozen=True)
class Allow:
    """An allowlist entry: a finding is let through when every given field
    matches (`path` is a glob over Finding.path)."""

    rule: str | None = None
    path: str | None = None
    fingerprint: str | None = None

    def __post_init__(self) -> None:
        if self.fingerprint is not None and not _FINGERPRINT.fullmatch(self.fingerprint):
            raise ConfigError(f"bad allowlist fingerprint {self.fingerprint!r}: copy the 16 hex digits a finding shows")
        if self.rule is None and self.path is None and self.fingerprint is None:
            raise ConfigError("an allowlist entry needs at least one of rule=, path=, fingerprint=")

    def matches(self, finding: Finding) -> bool:
        if self.rule is not None and self.rule != finding.rule:
            return False
        if self.path is not None and not fnmatch.fnmatchcase(finding.path, self.path):
            return False
        return self.fingerprint is None or finding.fingerprint == self.fingerprint

    @classmethod
    def parse(cls, spec: str) -> Allow:
        """`rule=generic-secret path=/var/task/tests/*` (also `fingerprint=...`)."""
        fields: dict[str, str] = {}
        for token in shlex.split(spec):
            key, sep, value = token.partition("=")
            if not sep or key not in ("rule", "path", "fingerprint") or not value:
                raise ConfigError(
                    f"bad allowlist entry {spec!r}: use rule=RULE, path=GLOB and/or fingerprint=HEX, "
                    "e.g. 'rule=generic-secret path=/var/task/tests/*'"
                )
            fields[key] = value
        return cls(**fields)


def coerce_allowlist(allow: Iterable[Allow | str] | None) -> list[Allow]:
    return [item if isinstance(item, Allow) else Allow.parse(item) for item in allow or ()]


class AuditFailure(AssertionError):
    """An audit assertion failed; the message is the whole report."""


@dataclass(frozen=True)
class AuditReport:
    """The findings of one check on one image."""

    check: str
    image: str
    findings: Sequence[Finding]
    checked: str = ""  # what was looked at, for the summary: "7 extensions", "12,031 files"

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def failed(self, strict: bool = False) -> bool:
        return bool(self.errors or (strict and self.warnings))

    def summary(self) -> str:
        """One line: `credentials: 2 errors, 1 warning (12,031 files)`."""
        parts = []
        if self.errors:
            parts.append(_count(len(self.errors), "error"))
        if self.warnings:
            parts.append(_count(len(self.warnings), "warning"))
        checked = f" ({self.checked})" if self.checked else ""
        return f"{self.check}: {', '.join(parts) or 'ok'}{checked}"

    def format(self) -> str:
        lines = [f"{self.check} audit of {self.image}: {self.summary().split(': ', 1)[1]}"]
        for finding in self.errors + self.warnings:
            lines.append(f"  {finding.severity.upper():7} {finding}")
        return "\n".join(lines)

    def raise_for_findings(self, strict: bool = False) -> None:
        """Raise AuditFailure with the report when there are errors (or,
        with `strict`, warnings)."""
        __tracebackhide__ = True
        if self.failed(strict):
            raise AuditFailure(self.format())


def _count(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"
