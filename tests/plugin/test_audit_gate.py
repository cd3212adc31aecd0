"""The audit as users meet it: the `--lambda-audit` CI gate with no test code,
its allowlist and selection, and the `lambda_audit` fixture in a test."""

from __future__ import annotations

import shutil
import uuid

import pytest

from pytest_lambda_image._runtime.rie import find_rie
from tests import fakes

from ..conftest import BASE_IMAGE, IMAGES, remove_repository


@pytest.fixture(scope="module")
def leaky_image(lambda_image_factory, lambda_engine, base_image, tmp_path_factory):
    """tests/images/audit/build-arg-leak with a made-up secret key in history."""
    name = f"leak-{uuid.uuid4().hex[:8]}"
    context = tmp_path_factory.mktemp("gate") / name
    shutil.copytree(IMAGES / "audit" / "build-arg-leak", context)
    secret = fakes.secret_access_key("gate")
    image = lambda_image_factory.build(
        context, build_args={"BASE_IMAGE": BASE_IMAGE, "AWS_SECRET_ACCESS_KEY": secret, "AWS_ACCESS_KEY_ID": ""}
    )
    yield image, secret
    remove_repository(lambda_engine, f"pytest-lambda-image/{name}")


def run(pytester, *args):
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=300)


def test_gate_passes_a_clean_image_with_no_tests_at_all(pytester, python_image):
    result = run(pytester, f"--lambda-image={python_image.ref}", "--lambda-audit", "-v")
    result.assert_outcomes(passed=4, skipped=1)
    assert result.ret == 0
    result.stdout.fnmatch_lines(
        [
            "lambda-audit::extensions PASSED*",
            "lambda-audit::credentials PASSED*",
            "lambda-audit::layers PASSED*",
            "lambda-audit::limits PASSED*",
            "lambda-audit::extension-registration SKIPPED*",
            "*= lambda image audit =*",
            "PASSED  extensions: ok (0 in /opt/extensions)",
            "PASSED  credentials: ok (* history steps, config, * files)",
            "PASSED  layers: ok (0 runtime paths under /opt)",
            "PASSED  limits: ok (linux/amd64, * MiB)",
        ]
    )


def test_gate_fails_the_run_on_a_leaked_secret_and_masks_it(pytester, leaky_image):
    image, secret = leaky_image
    result = run(pytester, f"--lambda-image={image.ref}", "--lambda-audit")
    result.assert_outcomes(passed=3, failed=1, skipped=1)
    assert result.ret == 1
    output = result.stdout.str()
    assert secret not in output
    result.stdout.fnmatch_lines(
        [
            "*_ lambda-audit::credentials _*",
            "credentials audit of * 1 error *",
            f"  ERROR   [[]aws-secret-access-key[]] history step * {secret[:4]}****{secret[-4:]} (fingerprint *)",
            "FAILED  credentials: 1 error *",
            "FAILED lambda-audit::credentials*",
        ]
    )
    assert "Traceback" not in output and "gate.py" not in output


def test_allowlist_from_the_ini_file(pytester, leaky_image):
    image, _ = leaky_image
    pytester.makeini("[pytest]\nlambda_audit_allow =\n    rule=aws-secret-access-key path=history:*\n")
    result = run(pytester, f"--lambda-image={image.ref}", "--lambda-audit")
    result.assert_outcomes(passed=4, skipped=1)
    result.stdout.fnmatch_lines(["PASSED  credentials: ok (*1 allowlisted)"])


def test_gate_items_select_with_k_and_run_beside_the_suite(pytester, python_image):
    pytester.makepyfile(test_suite="def test_own():\n    pass\n")
    result = run(pytester, f"--lambda-image={python_image.ref}", "--lambda-audit", "-k", "credentials or own")
    result.assert_outcomes(passed=2, deselected=4)


@pytest.mark.parametrize("dist", ["load", "loadgroup"])
def test_gate_under_xdist_still_summarises(pytester, python_image, dist):
    result = run(pytester, f"--lambda-image={python_image.ref}", "--lambda-audit", "-n", "2", "--dist", dist)
    result.assert_outcomes(passed=4, skipped=1)
    result.stdout.fnmatch_lines(["*= lambda image audit =*", "PASSED  extensions: ok*", "PASSED  credentials: ok*"])


def test_gate_without_an_image_says_what_to_do(pytester):
    result = run(pytester, "--lambda-audit")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*no function image configured*--lambda-image=TAG*"])
    assert "Traceback" not in result.stdout.str()


def test_lambda_audit_fixture_in_a_test(pytester, leaky_image, python_image):
    image, secret = leaky_image
    pytester.makepyfile(
        test_audit=f"""
        def test_default_image_is_clean(lambda_audit):
            audit = lambda_audit()
            audit.assert_no_credentials()
            audit.assert_extensions_executable()
            audit.assert_lambda_limits()
            assert lambda_audit() is audit  # read once per session

        def test_other_image_leaks(lambda_audit):
            lambda_audit({image.ref!r}).assert_no_credentials()

        def test_closing_it_does_not_spoil_it_for_the_next_test(lambda_audit):
            with lambda_audit() as audit:
                audit.assert_no_credentials()
            report = lambda_audit(allow=["rule=github-token"]).credentials()  # shares the one scan
            assert report.ok and report.findings == [], report.format()
        """
    )
    result = run(pytester, f"--lambda-image={python_image.ref}")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["E * credentials audit of * 1 error*", "E *[[]aws-secret-access-key[]] history step*"])
    assert secret not in result.stdout.str()


@pytest.fixture(scope="session")
def host_rie() -> str:
    """Found before pytester gives the test (and inner sessions) their own HOME."""
    return str(find_rie("x86_64"))


def test_gate_runs_extensions_under_the_rie(host_rie, pytester, extension_image):
    rie = f"--lambda-rie={host_rie}"
    good = extension_image("good-ext")
    result = run(pytester, f"--lambda-image={good.ref}", "--lambda-audit", rie)
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["PASSED  extension-registration: ok (1 extension(s) run under the RIE: good-ext)"])
    dying = extension_image("dies-ext")
    result = run(pytester, f"--lambda-image={dying.ref}", "--lambda-audit", rie)
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(["*[[]not-alive[]] /opt/extensions/dies-ext: registered, but was no longer running*"])


def test_gate_runs_extensions_as_lambdas_user(host_rie, pytester, extension_image):
    """Run as uid 993, a root-only extension fails to start, as on AWS (not just
    in the static check)."""
    image = extension_image("good-ext", "root-only-ext", modes={"root-only-ext": 0o700})
    result = run(pytester, f"--lambda-image={image.ref}", "--lambda-audit", f"--lambda-rie={host_rie}")
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*[[]not-executable-by-lambda[]] /opt/extensions/root-only-ext*",
            "*[[]launch-failed[]] /opt/extensions/root-only-ext: could not be started: permission denied*",
        ]
    )


def test_bad_allowlist_entry_is_a_clear_error(pytester, python_image):
    pytester.makeini("[pytest]\nlambda_audit_allow = secret-thing\n")
    result = run(pytester, f"--lambda-image={python_image.ref}", "--lambda-audit", "-k", "credentials")
    result.stdout.fnmatch_lines(["*bad allowlist entry 'secret-thing': use rule=RULE, path=GLOB*"])
    assert "Traceback" not in result.stdout.str()
