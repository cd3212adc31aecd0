"""Static checks of /opt/extensions: would Lambda be able to start each one?

Lambda starts every file in /opt/extensions as its non-root user. A file it
cannot execute, a script whose interpreter is missing or written with CRLF
line endings, or a binary for the other CPU fails the function's init, and
only on AWS, since `docker run` as root hides most of these.
"""

from __future__ import annotations

import posixpath
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace

from .elf import ARCHITECTURE_MACHINE, parse_elf
from .filesystem import FileEntry, ImageFilesystem
from .findings import AuditReport, Finding, Severity
from .permissions import EXECUTE, READ, access_problem

EXTENSIONS_DIR = "/opt/extensions"
CHECK = "extensions"
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_HEAD = 64 * 1024  # enough for a shebang line and any normal ELF program header table


@dataclass(frozen=True)
class Extension:
    """One entry of /opt/extensions and what it turned out to be."""

    name: str
    path: str
    format: str  # "script", "elf", "directory", "dangling symlink", "unknown"
    interpreter: str = ""  # a script's #! interpreter, or an ELF's dynamic loader
    machine: str = ""  # an ELF's CPU

    def describe(self) -> str:
        detail = f" ({self.interpreter})" if self.interpreter else ""
        return f"{self.name}: {self.format}{detail}"


def find_on_path(fs: ImageFilesystem, command: str, env: Mapping[str, str]) -> str | None:
    """The first PATH entry holding `command` as a file, as execvp and env
    search (each candidate resolved through symlinked directories)."""
    for directory in (env.get("PATH") or DEFAULT_PATH).split(":"):
        candidate = posixpath.join(directory or ".", command)
        entry = fs.resolve(candidate)
        if entry is not None and entry.is_file:
            return candidate
    return None


class ExecutableChecker:
    """Would the kernel start this file for Lambda's user? (Extensions and the entrypoint.)"""

    def __init__(self, fs: ImageFilesystem, architecture: str, env: Mapping[str, str]) -> None:
        self.fs = fs
        self.architecture = architecture
        self.machine = ARCHITECTURE_MACHINE.get(architecture, "")
        self.env = env
        self.findings: list[Finding] = []

    def report(self, entry: FileEntry, rule: str, message: str, severity: Severity = "error") -> None:
        self.findings.append(Finding(CHECK, rule, entry.path, message, severity=severity, path=entry.path))

    def check(self, entry: FileEntry, path: str | None = None) -> Extension:
        """`entry`: the program itself (a symlink not followed); `path`: how
        it is started, when that differs (through a symlinked directory):
        findings name it, and permissions are judged on the directories the
        kernel walks from there."""
        if path is not None and path != entry.path:
            entry = replace(entry, path=path)
        if entry.is_dir:
            self.report(
                entry,
                "directory",
                "a directory: Lambda only starts the files directly in /opt/extensions, so nothing in it runs",
                "warning",
            )
            return Extension(entry.name, entry.path, "directory")
        target = self.fs.resolve(entry.path)
        if target is None:
            self.report(entry, "dangling-symlink", f"symlink to {entry.link}, which does not exist in the image")
            return Extension(entry.name, entry.path, "dangling symlink")
        if not target.is_file:
            self.report(entry, "not-a-file", f"resolves to a {target.kind} ({target.path}), not a file Lambda can run")
            return Extension(entry.name, entry.path, target.kind)
        try:
            head = self.fs.read(target, _HEAD)
        except (OSError, tarfile.TarError) as exc:
            self.report(entry, "unreadable-content", f"its content cannot be read from the image: {exc}")
            return Extension(entry.name, entry.path, "unknown")
        if head.startswith(b"#!"):
            return self._script(entry, target, head)
        elf = parse_elf(head)
        if elf is not None:
            self._permission(entry, EXECUTE)
            if self.machine and elf.machine != self.machine:
                self.report(
                    entry,
                    "wrong-architecture",
                    f"an ELF binary for {elf.machine}, but the image is linux/{self.architecture} ({self.machine}): "
                    f"build the extension for {self.machine}",
                )
            if elf.interpreter and self.fs.resolve(elf.interpreter) is None:
                self.report(
                    entry,
                    "missing-loader",
                    f"dynamically linked, and its loader {elf.interpreter} is not in the image: "
                    "link it statically or use a base image with that C library",
                )
            return Extension(entry.name, entry.path, "elf", elf.interpreter or "", elf.machine)
        self._permission(entry, EXECUTE)
        self.report(
            entry,
            "unknown-format",
            "neither a script starting with #! nor an ELF binary, so the kernel cannot run it"
            + (" (the file is empty)" if target.size == 0 else ""),
        )
        return Extension(entry.name, entry.path, "unknown")

    def _permission(self, entry: FileEntry, bits: int) -> None:
        problem = access_problem(self.fs, entry.path, bits)
        if problem is None:
            return
        target = self.fs.resolve(entry.path)
        if target is not None and not target.mode & 0o111:
            self.report(entry, "not-executable", f"{target.describe()} has no execute bit: chmod 0755 {entry.path}")
        else:
            self.report(
                entry,
                "not-executable-by-lambda",
                f"{problem}; Lambda runs it as uid 993 (gid 990), not root: chmod 0755 {entry.path}",
            )

    def _script(self, entry: FileEntry, target: FileEntry, head: bytes) -> Extension:
        self._permission(entry, READ | EXECUTE)  # the interpreter has to read the script
        line = head.split(b"\n", 1)[0]
        if line.endswith(b"\r"):
            self.report(
                entry,
                "crlf-shebang",
                f"the #! line ends in CRLF, so the kernel looks for {line[2:-1].decode(errors='replace').strip()!r}"
                "+'\\r' and fails: save it with LF line endings (dos2unix)",
            )
        elif b"\r\n" in head:
            self.report(
                entry, "crlf-line-endings", "has CRLF line endings, which shells choke on: save it with LF line endings"
            )
        words = line[2:].decode(errors="replace").strip().split()
        if not words:
            self.report(entry, "bad-shebang", "the #! line names no interpreter")
            return Extension(entry.name, entry.path, "script")
        interpreter = words[0].rstrip("\r")
        # Resolved as the kernel does: #!/bin/sh on a merged-/usr image goes
        # through the /bin -> usr/bin symlink to /usr/bin/dash.
        found = self.fs.resolve(interpreter) if interpreter.startswith("/") else None
        if not interpreter.startswith("/"):
            self.report(entry, "bad-shebang", f"the #! interpreter {interpreter!r} is not an absolute path")
        elif found is None:
            self.report(entry, "missing-interpreter", f"its interpreter {interpreter} is not in the image")
        elif not found.is_file:
            self.report(entry, "missing-interpreter", f"its interpreter {interpreter} is a {found.kind}, not a program")
        elif (problem := access_problem(self.fs, interpreter, EXECUTE)) is not None:
            self.report(entry, "missing-interpreter", f"its interpreter cannot be run by Lambda's user: {problem}")
        elif posixpath.basename(found.path) == "env" and len(words) > 1:
            command = next((w for w in words[1:] if not w.startswith("-")), "")
            program = find_on_path(self.fs, command, self.env) if command else None
            if command and program is None:
                self.report(
                    entry,
                    "missing-interpreter",
                    f"`env {command}` finds no {command} on the image's PATH ({self.env.get('PATH') or DEFAULT_PATH})",
                )
            elif program is not None and (problem := access_problem(self.fs, program, EXECUTE)) is not None:
                self.report(entry, "missing-interpreter", f"`env {command}` finds {program}, but {problem}")
            interpreter = f"{interpreter} {command}"
        return Extension(entry.name, entry.path, "script", interpreter)


def audit_extensions(
    image: str,
    fs: ImageFilesystem,
    *,
    architecture: str,
    env: Mapping[str, str],
    expected: Iterable[str] | None = None,
) -> tuple[AuditReport, list[Extension]]:
    """Check every entry of /opt/extensions; with `expected`, also that those
    names are present."""
    checker = ExecutableChecker(fs, architecture, env)
    # Named as the RIE starts them, even when /opt/extensions is itself a symlink.
    extensions = [checker.check(entry, f"{EXTENSIONS_DIR}/{entry.name}") for entry in fs.listdir(EXTENSIONS_DIR)]
    for name in expected or ():
        if not any(ext.name == name for ext in extensions):
            checker.findings.append(
                Finding(
                    CHECK,
                    "missing-extension",
                    f"{EXTENSIONS_DIR}/{name}",
                    "expected, but not in the image",
                    path=f"{EXTENSIONS_DIR}/{name}",
                )
            )
    names = ", ".join(ext.name for ext in extensions)
    checked = f"{len(extensions)} in {EXTENSIONS_DIR}" + (f": {names}" if names else "")
    return AuditReport(CHECK, image, checker.findings, checked=checked), extensions
