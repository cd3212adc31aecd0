from pathlib import Path

import pytest

from pytest_lambda_image import ConfigError, relay
from pytest_lambda_image._runtime.rie import bootstrap_command, plan_launch


def test_with_the_relay_it_runs_the_rie_and_the_rie_starts_the_bootstrap_through_it():
    bootstrap = bootstrap_command(["/lambda-entrypoint.sh"], ["app.handler"])
    launch = relay.launch_through_relay("/rie", ["-v"], bootstrap)
    at = relay.RELAY_MOUNT_POINT
    assert launch.entrypoint == [at]
    assert launch.command == ["front", "/rie", "-v", at, "exec", "/lambda-entrypoint.sh", "app.handler"]


def test_without_the_relay_the_rie_starts_the_bootstrap_itself():
    launch = plan_launch(["/bootstrap"], None, rie="/rie")
    assert (launch.entrypoint, launch.command) == (["/rie"], ["/bootstrap"])


def test_the_relay_can_be_turned_off_or_given(monkeypatch, tmp_path):
    monkeypatch.setenv(relay.RELAY_ENV, "off")
    assert relay.find_relay("x86_64") is None
    monkeypatch.setenv(relay.RELAY_ENV, str(tmp_path / "built"))
    with pytest.raises(ConfigError, match="is not a file: name a built trace relay"):
        relay.find_relay("x86_64")
    (tmp_path / "built").write_bytes(b"\x7fELF")
    assert relay.find_relay("x86_64") == tmp_path / "built"


def test_without_a_compiler_functions_run_without_it_and_say_so_once(monkeypatch, tmp_path, recwarn):
    monkeypatch.delenv(relay.RELAY_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(relay, "compilers", lambda arch: [])
    monkeypatch.setattr(relay, "_found", {})
    monkeypatch.setattr(relay, "_warned", set())
    assert relay.find_relay("arm64") is None
    assert relay.find_relay("arm64") is None
    (warning,) = recwarn.list
    assert "_X_AMZN_TRACE_ID" in str(warning.message)


def test_the_relay_is_built_once_per_source_and_architecture(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(relay, "_found", {})
    built = []

    def fake_compiler(arch):
        script = tmp_path / "cc"
        script.write_text('#!/bin/sh\nwhile [ "$1" != "-o" ]; do shift; done\necho built > "$2"\n')
        script.chmod(0o755)
        built.append(arch)
        return [[str(script)]]

    monkeypatch.setattr(relay, "compilers", fake_compiler)
    first = relay._build("x86_64")
    assert first is not None and first.read_text() == "built\n"
    assert first.parent == Path(tmp_path, "pytest-lambda-image", "relay")
    assert relay._build("x86_64") == first
    assert built == ["x86_64"]
