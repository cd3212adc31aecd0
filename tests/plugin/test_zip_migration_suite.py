"""A team's migration as they would run it: the zip function's test suite,
unchanged, run by pytest against the image built from the zips, first by
tag (`lambda_image`), then from the committed from-zip directory
(`lambda_dockerfile`), with the audit gate on top."""

from __future__ import annotations

import json
import shutil
import uuid

import pytest

from pytest_lambda_image import image_from_zip
from tests.conftest import BASE_IMAGE, remove_repository
from tests.zip_artifacts import migration_zips, run_from_zips

EVENT = {"name": "Ada"}

# The suite, identical in every run; EXPECTED is what the zip function itself answers.
SUITE = """
import json

EXPECTED = json.loads({expected!r})


def test_answers_like_the_zip_function(lambda_function):
    result = lambda_function.invoke({event!r})
    assert result.ok, result.text
    assert result.json() == EXPECTED


def test_the_layer_library_is_importable(lambda_function):
    assert lambda_function.invoke({{}}).json()["library"] == "lib/python3.11/site-packages/greeting_lib/__init__.py"


def test_the_layer_extension_registered(lambda_function, lambda_audit):
    lambda_audit().assert_extensions_register(lambda_function)
    assert "[zip-ext] registered" in lambda_function.logs()


def test_layers_landed_where_the_runtime_looks(lambda_audit):
    audit = lambda_audit()
    audit.assert_layers(python=["greeting_lib", "layer_order"])
    audit.assert_extensions_executable(["zip-ext"])
    paths = [p.path for p in audit.layout().for_runtime("python")]
    assert paths == ["/opt/python", "/opt/python/lib/python3.11/site-packages"]
"""


@pytest.fixture(scope="module")
def migration(lambda_engine, base_image, tmp_path_factory):
    root = tmp_path_factory.mktemp("zip-suite")
    zips = migration_zips(root / "zips")
    name = f"zip-suite-{uuid.uuid4().hex[:8]}"
    image = image_from_zip(
        zips.function, zips.layers, handler=zips.handler, base=BASE_IMAGE, out_dir=root / name, engine=lambda_engine
    )
    expected = run_from_zips(zips, EVENT, root / "reference")
    yield image, root / name, expected
    remove_repository(lambda_engine, f"pytest-lambda-image/{name}")


def suite(pytester: pytest.Pytester, expected: dict) -> None:
    pytester.makepyfile(test_function=SUITE.format(expected=json.dumps(expected), event=EVENT))


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=300)


def test_the_suite_passes_against_the_image_by_tag_with_the_audit_gate(pytester, migration):
    image, _, expected = migration
    pytester.makeini(f"[pytest]\nlambda_image = {image.ref}\nlambda_audit_extensions = zip-ext\n")
    suite(pytester, expected)
    result = run(pytester, "--lambda-audit", "-v")
    result.assert_outcomes(passed=9)
    result.stdout.fnmatch_lines(
        [
            "*test_answers_like_the_zip_function PASSED*",
            "*test_the_layer_library_is_importable PASSED*",
            "*test_the_layer_extension_registered PASSED*",
            "*test_layers_landed_where_the_runtime_looks PASSED*",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "*= lambda image audit =*",
            "PASSED  extensions: ok (1 in /opt/extensions: zip-ext)",
            "PASSED  layers: ok (2 runtime paths under /opt)",
        ]
    )
    result.stdout.fnmatch_lines(["PASSED  extension-registration: ok (1 extension(s) run under the RIE: zip-ext)"])


def test_the_committed_directory_builds_the_same_image_for_the_same_suite(pytester, migration, lambda_engine):
    image, out_dir, expected = migration
    name = f"committed-{uuid.uuid4().hex[:8]}"
    shutil.copytree(out_dir, pytester.path / name, symlinks=True)  # as checked out from the team's repository
    pytester.makeini(f"[pytest]\nlambda_dockerfile = {name}/Dockerfile\n")
    suite(pytester, expected)
    try:
        result = run(pytester, "-v")
        result.assert_outcomes(passed=4)
        result.stdout.fnmatch_lines(["lambda image: pytest-lambda-image/committed-*(unchanged inputs, not rebuilt*"])
        built = lambda_engine.client.images.list(name=f"pytest-lambda-image/{name}")
        assert [found.id for found in built] == [image.id]  # the same inputs: the very image built from the zips
    finally:
        remove_repository(lambda_engine, f"pytest-lambda-image/{name}")
