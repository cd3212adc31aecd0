"""Extension checks on in-memory images: every way an extension can fail to
start on Lambda, and the ways that work."""

from __future__ import annotations

import struct

import pytest

from pytest_lambda_image.audit.elf import parse_elf
from pytest_lambda_image.audit.extensions import audit_extensions
from pytest_lambda_image.audit.filesystem import ImageFilesystem, layers_from_bytes

from .layers import F, d, layer, link

ENV = {"PATH": "/usr/local/bin:/usr/bin:/bin"}


def elf(machine: int = 62, interpreter: str | None = None) -> bytes:
    """A minimal 64-bit little-endian ELF header with an optional PT_INTERP."""
    phoff, phnum = 64, 1 if interpreter else 0
    header = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    header += struct.pack("<HHIQQQIHHHHHH", 2, machine, 1, 0, phoff, 0, 0, 64, 56, phnum, 64, 0, 0)
    if not interpreter:
        return header
    data = interpreter.encode() + b"\0"
    offset = 64 + 56
    return header + struct.pack("<IIQQQQQQ", 3, 4, offset, 0, 0, len(data), len(data), 1) + data


def base_files(*extensions: F) -> bytes:
    return layer(
        d("bin"), F("bin/sh", elf(), mode=0o755), d("usr"), d("usr/bin"), F("usr/bin/env", elf(), mode=0o755),
        d("opt"), d("opt/extensions"), *extensions,
    )  # fmt: skip


def run(*extensions: F, architecture: str = "amd64", expected=None):
    fs = ImageFilesystem(layers_from_bytes([base_files(*extensions)]))
    return audit_extensions("img", fs, architecture=architecture, env=ENV, expected=expected)


def rules(report) -> dict[str, str]:
    return {f.where.rsplit("/", 1)[-1]: f.rule for f in report.findings}


def test_parse_elf():
    assert parse_elf(elf(183)).machine == "aarch64"
    info = parse_elf(elf(62, "/lib64/ld-linux-x86-64.so.2"))
    assert (info.machine, info.bits, info.interpreter) == ("x86_64", 64, "/lib64/ld-linux-x86-64.so.2")
    assert parse_elf(b"#!/bin/sh\n" + bytes(60)) is None


def test_good_extensions_pass():
    report, found = run(
        F("opt/extensions/script", b"#!/bin/sh\necho hi\n", mode=0o755),
        F("opt/extensions/binary", elf(), mode=0o755),
        F("opt/extensions/owned", elf(), mode=0o700, uid=993, gid=990),
        F("opt/extensions/by-env", b"#!/usr/bin/env sh\n", mode=0o755),
        link("opt/extensions/linked", "/opt/extensions/binary"),
    )
    assert report.ok and report.findings == [], report.format()
    assert {e.name: e.format for e in found} == {
        "binary": "elf", "by-env": "script", "linked": "elf", "owned": "elf", "script": "script"
    }  # fmt: skip
    assert report.checked == "5 in /opt/extensions: binary, by-env, linked, owned, script"


@pytest.mark.parametrize(
    ("item", "rule"),
    [
        (F("opt/extensions/x", elf(), mode=0o700), "not-executable-by-lambda"),
        (F("opt/extensions/x", elf(), mode=0o744), "not-executable-by-lambda"),
        (F("opt/extensions/x", b"#!/bin/sh\n", mode=0o711), "not-executable-by-lambda"),  # a script must be readable
        (F("opt/extensions/x", elf(), mode=0o644), "not-executable"),
        (link("opt/extensions/x", "/opt/nothing"), "dangling-symlink"),
        (F("opt/extensions/x", b"#!/bin/sh\r\necho\r\n", mode=0o755), "crlf-shebang"),
        (F("opt/extensions/x", b"#!/bin/sh\necho\r\n", mode=0o755), "crlf-line-endings"),
        (F("opt/extensions/x", b"#!/usr/bin/python3\n", mode=0o755), "missing-interpreter"),
        (F("opt/extensions/x", b"#!/usr/bin/env node\n", mode=0o755), "missing-interpreter"),
        (F("opt/extensions/x", b"#!python3\n", mode=0o755), "bad-shebang"),
        (F("opt/extensions/x", elf(183), mode=0o755), "wrong-architecture"),
        (F("opt/extensions/x", elf(62, "/lib64/ld-linux-x86-64.so.2"), mode=0o755), "missing-loader"),
        (F("opt/extensions/x", b"echo no shebang\n", mode=0o755), "unknown-format"),
        (F("opt/extensions/x", b"", mode=0o755), "unknown-format"),
    ],
)
def test_failing_extensions(item, rule):
    report, _ = run(item)
    assert rules(report) == {"x": rule}, report.format()
    assert not report.ok


def test_directories_are_warnings():
    report, found = run(d("opt/extensions/helpers"), F("opt/extensions/helpers/tool", elf(), mode=0o755))
    assert rules(report) == {"helpers": "directory"}
    assert report.ok and report.warnings and report.failed(strict=True)
    assert found[0].format == "directory"


def test_architecture_follows_the_image():
    report, _ = run(F("opt/extensions/x", elf(183), mode=0o755), architecture="arm64")
    assert report.ok
    report, _ = run(F("opt/extensions/x", elf(62), mode=0o755), architecture="arm64")
    assert "for x86_64, but the image is linux/arm64 (aarch64)" in report.format()


def test_expected_extensions_must_be_present():
    report, _ = run(F("opt/extensions/a", elf(), mode=0o755), expected=["a", "b"])
    assert rules(report) == {"b": "missing-extension"}


def test_no_extensions_directory_is_fine():
    fs = ImageFilesystem(layers_from_bytes([layer(F("var/task/app.py", b""))]))
    report, found = audit_extensions("img", fs, architecture="amd64", env={})
    assert report.ok and found == [] and report.checked == "0 in /opt/extensions"


def test_report_reads_well():
    report, _ = run(F("opt/extensions/x", elf(), mode=0o700))
    assert report.format() == (
        "extensions audit of img: 1 error (1 in /opt/extensions: x)\n"
        "  ERROR   [not-executable-by-lambda] /opt/extensions/x: /opt/extensions/x (0700 root:root) cannot be executed "
        "by uid 993; Lambda runs it as uid 993 (gid 990), not root: chmod 0755 /opt/extensions/x"
    )


def merged_usr_run(*items: F, **kw):
    """Debian bookworm's layout: /bin, /lib and /lib64 are symlinks into /usr,
    python3 a symlink to python3.11, /usr/bin/env a real program."""
    base = layer(
        d("usr"), d("usr/bin"), d("usr/lib"), d("usr/lib64"),
        F("usr/bin/dash", elf(), mode=0o755), link("usr/bin/sh", "dash"),
        F("usr/bin/env", elf(), mode=0o755), F("usr/bin/python3.11", elf(), mode=0o755),
        link("usr/bin/python3", "python3.11"), F("usr/lib64/ld-linux-x86-64.so.2", elf(), mode=0o755),
        link("bin", "usr/bin"), link("lib", "usr/lib"), link("lib64", "usr/lib64"),
        d("opt"), d("opt/extensions"), d("opt/tools"), d("opt/tools/real"), link("opt/toolbox", "tools/real"),
        link("opt/runtime", "/usr"), *items,
    )  # fmt: skip
    fs = ImageFilesystem(layers_from_bytes([base]))
    return audit_extensions("img", fs, architecture="amd64", env={"PATH": "/usr/local/bin:/bin"}, **kw)


def test_paths_through_symlinked_directories_are_followed_as_the_kernel_does():
    report, found = merged_usr_run(
        F("opt/extensions/sh-script", b"#!/bin/sh\necho hi\n", mode=0o755),
        F("opt/extensions/env-python", b"#!/usr/bin/env python3\nprint(1)\n", mode=0o755),
        F("opt/extensions/env-on-bin", b"#!/bin/env python3\nprint(1)\n", mode=0o755),
        F("opt/extensions/dynamic", elf(62, "/lib64/ld-linux-x86-64.so.2"), mode=0o755),
        F("opt/tools/real/ext.sh", b"#!/opt/runtime/bin/sh\necho hi\n", mode=0o755),
        link("opt/extensions/via-toolbox", "/opt/toolbox/ext.sh"),  # a symlink into a symlinked directory
        link("opt/extensions/relative", "../toolbox/ext.sh"),
    )
    assert report.findings == [], report.format()
    assert {e.name: e.interpreter for e in found if e.format == "script"} == {
        "env-on-bin": "/bin/env python3",
        "env-python": "/usr/bin/env python3",
        "relative": "/opt/runtime/bin/sh",
        "sh-script": "/bin/sh",
        "via-toolbox": "/opt/runtime/bin/sh",
    }


@pytest.mark.parametrize(
    ("items", "rule", "says"),
    [
        ((link("opt/extensions/x", "/opt/toolbox/missing.sh"),), "dangling-symlink", "/opt/toolbox/missing.sh"),
        ((F("opt/extensions/x", b"#!/opt/runtime/bin/bash\n", mode=0o755),), "missing-interpreter", "not in the image"),
        ((F("opt/extensions/x", b"#!/opt/runtime/bin\n", mode=0o755),), "missing-interpreter", "a dir, not a program"),
        (
            (d("opt/locked", mode=0o700), F("opt/extensions/x", b"#!/opt/locked/../runtime/bin/sh\n", mode=0o755)),
            "missing-interpreter",
            "directory /opt/locked (0700 root:root) cannot be entered",
        ),
        (
            (d("opt/locked", mode=0o700), link("opt/extensions/x", "/opt/locked/../toolbox/ext.sh"),
             F("opt/tools/real/ext.sh", b"#!/bin/sh\n", mode=0o755)),
            "not-executable-by-lambda",
            "directory /opt/locked (0700 root:root) cannot be entered",
        ),
        (
            (d("usr/local", mode=0o700), d("usr/local/bin"), F("usr/local/bin/python3", elf(), mode=0o755),
             F("opt/extensions/x", b"#!/usr/bin/env python3\n", mode=0o755)),
            "missing-interpreter",
            "`env python3` finds /usr/local/bin/python3, but directory /usr/local (0700 root:root)",
        ),
    ],
    ids=["dangling-through-symlinked-dir", "no-interpreter-there", "interpreter-is-a-dir", "dotdot-interpreter",
         "dotdot-extension", "env-finds-a-locked-program"],
)  # fmt: skip
def test_what_symlinks_do_not_hide(items, rule, says):
    report, _ = merged_usr_run(*items)
    assert rules(report) == {"x": rule}, report.format()
    assert says in report.findings[0].message


def test_a_symlinked_extensions_directory_names_entries_as_the_rie_starts_them():
    fs = ImageFilesystem(layers_from_bytes([layer(
        d("opt"), d("opt/ext-real"), F("opt/ext-real/x", elf(), mode=0o700), link("opt/extensions", "ext-real"),
    )]))  # fmt: skip
    report, found = audit_extensions("img", fs, architecture="amd64", env={})
    assert [(f.rule, f.path) for f in report.findings] == [("not-executable-by-lambda", "/opt/extensions/x")]
    assert found[0].path == "/opt/extensions/x"
