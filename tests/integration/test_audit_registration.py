"""The run-time extension check on FROM-scratch images whose extensions
(tests/images/extension-runtime/extension.c) behave by file name."""

from __future__ import annotations

import pytest

from pytest_lambda_image.audit import AuditFailure, ImageAudit


def test_good_extensions_register_and_stay_alive(extension_image, lambda_engine, lambda_function_factory):
    image = extension_image("good-a", "good-b")
    with ImageAudit.of(lambda_engine, image) as audit:
        assert audit.extensions().ok
        function = lambda_function_factory(image)
        report = audit.registration(function)
        assert report.ok and report.findings == [], report.format()
        assert report.checked == "2 extension(s) run under the RIE: good-a, good-b"
        audit.assert_extensions_register(function)  # again, on the warm container


def test_extension_that_dies_after_an_invoke(extension_image, lambda_engine, lambda_function_factory):
    image = extension_image("dies-ext")
    with ImageAudit.of(lambda_engine, image) as audit:
        report = audit.registration(lambda_function_factory(image))
        rules = [f.rule for f in report.findings]
        assert rules[0] == "not-alive", report.format()
        assert "exit status 3" in report.findings[0].message


def test_extension_registering_under_another_name(extension_image, lambda_engine, lambda_function_factory):
    image = extension_image("misnamed-ext")
    with ImageAudit.of(lambda_engine, image) as audit:
        with pytest.raises(AuditFailure) as failure:
            audit.assert_extensions_register(lambda_function_factory(image))
    text = str(failure.value)
    assert "[registered-under-another-name] /opt/extensions/misnamed-ext" in text
    assert "some-other-name" in text and "Lambda-Extension-Name" in text


def test_extension_that_never_registers(extension_image, lambda_engine, lambda_function_factory):
    image = extension_image("noregister-ext")
    with ImageAudit.of(lambda_engine, image) as audit:
        report = audit.registration(lambda_function_factory(image))
    assert report.findings[0].rule == "not-registered"
    assert "exited (exit status 0) without registering" in report.findings[0].message


def test_extension_rie_cannot_start(extension_image, lambda_engine, lambda_function_factory):
    image = extension_image("good-a")
    # A name the audit expects that RIE cannot find is reported as never registered.
    with ImageAudit.of(lambda_engine, image) as audit:
        report = audit.registration(lambda_function_factory(image), expected=["missing-ext"])
    assert [(f.rule, f.where) for f in report.findings] == [("not-registered", "/opt/extensions/missing-ext")]


def test_a_root_only_extension_fails_to_launch_from_a_test(extension_image, lambda_engine, lambda_function_factory):
    """Functions run as Lambda's user, so the check a test runs sees what Lambda would."""
    image = extension_image("good-a", "rootonly-ext", modes={"rootonly-ext": 0o700})
    with ImageAudit.of(lambda_engine, image) as audit:
        report = audit.registration(lambda_function_factory(image))
        as_root = audit.registration(lambda_function_factory(image, fidelity=False))
    assert ("launch-failed", "/opt/extensions/rootonly-ext") in [(f.rule, f.where) for f in report.findings]
    assert not report.ok
    assert as_root.ok, as_root.format()  # what a plain docker run would have let through
