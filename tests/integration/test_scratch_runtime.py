"""A FROM-scratch image with a static custom runtime: no shell, no RIE. The
plugin mounts the RIE and runs `aws-lambda-rie <ENTRYPOINT...> <CMD...>`."""

from __future__ import annotations

import pytest

from pytest_lambda_image import FunctionStartError, LambdaFunction, Outcome, RieNotFoundError
from pytest_lambda_image._runtime.function import image_has_file


def test_the_image_really_has_no_rie_and_no_shell(scratch_image, lambda_engine):
    assert not image_has_file(lambda_engine, scratch_image, "/usr/local/bin/aws-lambda-rie")
    assert not image_has_file(lambda_engine, scratch_image, "/bin/sh")
    assert image_has_file(lambda_engine, scratch_image, "/bootstrap")


def test_runs_with_the_mounted_rie(scratch_image, lambda_function_factory):
    function = lambda_function_factory(scratch_image, timeout=2)
    result = function.invoke({"hello": "scratch"})

    assert result.ok, result.text
    body = result.json()
    assert body["argv"] == ["/bootstrap", "function.handler"]  # ENTRYPOINT + CMD, behind the RIE
    assert body["event"] == {"hello": "scratch"}
    assert result.request_id and result.report is not None
    assert any("custom runtime invoked" in line for line in result.logs)


def test_handler_override_reaches_a_custom_runtime(scratch_image, lambda_function_factory):
    body = lambda_function_factory(scratch_image, handler="other.entry").invoke({}).json()
    assert body["argv"] == ["/bootstrap", "other.entry"]
    assert body["handler"] == "other.entry"


def test_every_outcome(scratch_image, lambda_function_factory):
    function = lambda_function_factory(scratch_image, timeout=1)

    failed = function.invoke({"do": "fail"})
    assert (failed.outcome, failed.error_type, failed.error_message) == (
        Outcome.FUNCTION_ERROR,
        "Custom.Failure",
        "asked to fail",
    )
    assert function.invoke({"do": "sleep"}).outcome is Outcome.TIMEOUT
    assert function.invoke({"do": "crash"}).outcome is Outcome.RUNTIME_EXIT
    assert function.invoke({"do": "echo"}).ok


def test_init_error_reported_by_the_runtime(scratch_image, lambda_function_factory):
    result = lambda_function_factory(scratch_image, env={"MODE": "init-error"}).invoke({})
    assert result.outcome is Outcome.INIT_ERROR
    assert (result.error_type, result.error_message) == ("Custom.InitError", "custom init failed")


def test_init_crash_without_report(scratch_image, lambda_function_factory):
    result = lambda_function_factory(scratch_image, env={"MODE": "init-crash"}).invoke({})
    assert result.outcome is Outcome.INIT_ERROR
    assert result.status_code == 502 and result.payload == b""
    assert any("mode=init-crash" in line for line in result.logs)


def test_no_rie_anywhere_is_a_clear_error(scratch_image, lambda_engine, tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("PYTEST_LAMBDA_RIE", raising=False)
    monkeypatch.setattr("pytest_lambda_image._runtime.rie._samcli_rie", lambda arch: None)
    with pytest.raises(RieNotFoundError, match="image has no RIE and none was found for x86_64: pass --lambda-rie"):
        LambdaFunction(scratch_image, engine=lambda_engine).start()


def test_explicit_rie_path(scratch_image, lambda_function_factory, tmp_path):
    from pytest_lambda_image._runtime.rie import find_rie

    copy = tmp_path / "my-rie"
    copy.write_bytes(find_rie("x86_64").read_bytes())
    copy.chmod(0o755)
    assert lambda_function_factory(scratch_image, rie_path=str(copy)).invoke({}).ok


def test_rie_that_never_listens(scratch_image, scratch_context, lambda_engine, tmp_path):
    """A front process that exits at once (here the runtime given as the RIE:
    it finds no runtime API): start fails with its log, no leftovers."""
    fake_rie = tmp_path / "not-an-rie"
    fake_rie.write_bytes((scratch_context / "runtime").read_bytes())
    fake_rie.chmod(0o755)
    function = LambdaFunction(scratch_image, engine=lambda_engine, start_timeout=10, rie_path=str(fake_rie))
    with pytest.raises(FunctionStartError, match=r"exited with code 2 before the RIE listened") as info:
        function.start()
    assert "AWS_LAMBDA_RUNTIME_API is not set" in str(info.value)
    assert function._container is None


def test_what_the_runtime_posted_decides_the_outcome(scratch_image, lambda_function_factory):
    """Classification comes from the runtime API call the runtime made, not from the body's shape."""
    function = lambda_function_factory(scratch_image)

    extra = function.invoke({"do": "extra"})
    assert extra.outcome is Outcome.FUNCTION_ERROR
    assert extra.error == {"errorType": "Custom.Failure", "errorMessage": "with details", "details": {"code": 42}}

    plain = function.invoke({"do": "plain"})
    assert plain.outcome is Outcome.FUNCTION_ERROR
    assert (plain.error_type, plain.error_message) == ("Custom.PlainText", "it broke, in plain text")
    assert plain.text == "it broke, in plain text"

    lookalike = function.invoke({"do": "lookalike"})  # POSTed to /response: a success
    assert lookalike.ok and lookalike.json() == {"errorType": "NotAnError", "errorMessage": "just data"}
    lookalike.raise_for_error()
    assert lookalike.request_id and lookalike.request_id != plain.request_id


def test_an_entrypoint_that_cannot_be_executed(lambda_image_factory, lambda_function_factory, tmp_path):
    (tmp_path / "bootstrap").write_bytes(b"not a program")
    (tmp_path / "bootstrap").chmod(0o644)
    (tmp_path / "Dockerfile").write_text('FROM scratch\nCOPY bootstrap /bootstrap\nENTRYPOINT ["/bootstrap"]\n')
    result = lambda_function_factory(lambda_image_factory.build(tmp_path)).invoke({})
    assert result.outcome is Outcome.INIT_ERROR
    assert result.error_type == "Runtime.InvalidEntrypoint"
    assert result.error_message == f"RequestId: {result.request_id} Error: fork/exec /bootstrap: permission denied"


def _plain_and_relayed(image):
    """The same image started with the trace relay and without it."""
    results = {}
    for relayed in (True, False):
        function = LambdaFunction(image, timeout=2)
        function = function if relayed else function.without_addition("trace_relay")
        assert ("trace_relay" in function.additions) is relayed
        with function:
            results[relayed] = function.invoke({})
    return results[True], results[False]


def test_a_shell_script_entrypoint_without_a_shell(lambda_image_factory, tmp_path):
    # FROM scratch has no /bin/sh: Lambda cannot start the entrypoint, relay or not.
    (tmp_path / "bootstrap").write_text("#!/bin/sh\necho never\n")
    (tmp_path / "bootstrap").chmod(0o755)
    (tmp_path / "Dockerfile").write_text('FROM scratch\nCOPY bootstrap /bootstrap\nENTRYPOINT ["/bootstrap"]\n')
    relayed, plain = _plain_and_relayed(lambda_image_factory.build(tmp_path))
    for result in (relayed, plain):
        assert result.outcome is Outcome.INIT_ERROR
        assert result.error_type == "Runtime.InvalidEntrypoint", result.error_message
        assert result.error_message.endswith("fork/exec /bootstrap: no such file or directory")


def test_a_working_directory_the_runtime_user_cannot_enter(lambda_image_factory, scratch_context, tmp_path):
    import tarfile

    with tarfile.open(tmp_path / "locked.tar", "w") as tar:  # /locked: root's, mode 0700
        info = tarfile.TarInfo("locked")
        info.type, info.mode = tarfile.DIRTYPE, 0o700
        tar.addfile(info)
    (tmp_path / "runtime").write_bytes((scratch_context / "runtime").read_bytes())
    (tmp_path / "runtime").chmod(0o755)
    (tmp_path / "Dockerfile").write_text(
        'FROM scratch\nCOPY runtime /bootstrap\nADD locked.tar /\nWORKDIR /locked\nENTRYPOINT ["/bootstrap"]\n'
    )
    relayed, plain = _plain_and_relayed(lambda_image_factory.build(tmp_path))
    for result in (relayed, plain):
        assert result.outcome is Outcome.INIT_ERROR
        assert "trace-relay" not in result.error_message, result.error_message
        assert result.error_message.endswith("fork/exec /bootstrap: permission denied")
