"""A .zip function and its layers migrated into an image (issue 15): zips
written at run time, built onto the stand-in Python base, run under the RIE
and compared with the same handler run straight from the zip contents."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest

from pytest_lambda_image import image_from_zip
from pytest_lambda_image.audit import ImageAudit
from tests.conftest import BASE_IMAGE, remove_repository
from tests.zip_artifacts import MigrationZips, migration_zips, run_from_zips, write_zip


@pytest.fixture(scope="module")
def zips(tmp_path_factory) -> MigrationZips:
    return migration_zips(tmp_path_factory.mktemp("zips"))


@pytest.fixture(scope="module")
def migrated(zips, lambda_engine, base_image, tmp_path_factory):
    name = f"zip-fn-{uuid.uuid4().hex[:8]}"
    out = tmp_path_factory.mktemp("migrated") / name
    image = image_from_zip(
        zips.function, zips.layers, handler=zips.handler, base=BASE_IMAGE, out_dir=out, engine=lambda_engine
    )
    yield image, out
    remove_repository(lambda_engine, f"pytest-lambda-image/{name}")


@pytest.fixture(scope="module")
def audit(migrated, lambda_engine):
    with ImageAudit.of(lambda_engine, migrated[0]) as found:
        yield found


def test_the_image_answers_like_the_zip_function(zips, migrated, lambda_function_factory, tmp_path):
    event = {"name": "Ada"}
    reference = run_from_zips(zips, event, tmp_path)
    assert reference == {
        "greeting": "Hello, Ada!",
        "library": "lib/python3.11/site-packages/greeting_lib/__init__.py",
        "layer_order": "extension-layer",  # the later layer overwrote the earlier one's file
    }
    result = lambda_function_factory(migrated[0]).invoke(event)
    assert result.ok and result.json() == reference, result.text


def test_layers_landed_where_the_runtime_looks(audit):
    layout = audit.layout()
    assert {(p.path, p.entries) for p in layout.for_runtime("python")} == {
        ("/opt/python", ("layer_order.py", "lib")),
        ("/opt/python/lib/python3.11/site-packages", ("greeting_lib", "greeting_lib-1.0.dist-info")),
    }, layout.describe()
    report = audit.layers(python=["greeting_lib", "layer_order"])
    assert report.ok and report.findings == [], report.format()
    assert audit.layers(python=["boto3"]).findings[0].rule == "missing-layer-package"  # the check does look


def test_modes_from_the_zips_survive_into_the_image(audit):
    fs = audit.filesystem
    extension = fs.get("/opt/extensions/zip-ext")
    assert extension is not None and extension.is_file and extension.mode & 0o777 == 0o755
    assert fs.get("/var/task/app.py").mode & 0o777 == 0o644
    assert fs.get("/opt/python/lib/python3.11/site-packages/greeting_lib").mode & 0o777 == 0o755
    report = audit.extensions(["zip-ext"])
    assert report.ok and report.findings == [], report.format()  # executable by Lambda's user, interpreter present
    assert audit.config["Cmd"] == ["app.handler"]


def test_the_layer_extension_registers(audit, migrated, lambda_function_factory):
    function = lambda_function_factory(migrated[0])
    report = audit.registration(function)
    assert report.ok and report.findings == [], report.format()
    assert report.checked == "1 extension(s) run under the RIE: zip-ext"
    assert "[zip-ext] registered" in function.logs()


def test_unchanged_zips_are_not_rebuilt(zips, migrated, lambda_engine):
    image, out = migrated
    again = image_from_zip(
        zips.function, zips.layers, handler=zips.handler, base=BASE_IMAGE, out_dir=out, engine=lambda_engine
    )
    assert again.builder == "cache" and again.id == image.id


@pytest.fixture
def own_name(lambda_engine):
    """A directory name whose images (pytest-lambda-image/NAME:...) go when the test's functions have."""
    name = f"zip-legacy-{uuid.uuid4().hex[:8]}"
    yield name
    remove_repository(lambda_engine, f"pytest-lambda-image/{name}")


def test_the_legacy_builder_keeps_the_modes_too(
    own_name, zips, lambda_engine, base_image, tmp_path, lambda_function_factory
):
    """The modes are set on the extracted files, not with COPY --chmod, so both builders keep them."""
    function = write_zip(tmp_path / "function.zip", {"app.py": _handler(zips)})
    image = image_from_zip(
        function,
        zips.layers,
        handler=zips.handler,
        base=BASE_IMAGE,
        out_dir=tmp_path / own_name,
        builder="legacy",
        engine=lambda_engine,
    )
    assert image.builder == "legacy"
    with ImageAudit.of(lambda_engine, image) as legacy:
        assert legacy.filesystem.get("/opt/extensions/zip-ext").mode & 0o777 == 0o755
        assert legacy.filesystem.get("/var/task/app.py").mode & 0o777 == 0o644
        report = legacy.registration(lambda_function_factory(image))
        assert report.ok, report.format()


def _handler(zips: MigrationZips) -> str:
    import zipfile

    with zipfile.ZipFile(zips.function) as archive:
        source = archive.read("app.py").decode()
    # Inputs of its own, so neither the BuildKit image nor an earlier run's comes from the cache.
    return source + f"\n# built with the legacy builder ({uuid.uuid4().hex})\n"


def test_the_command_builds_the_same_image(zips, migrated, lambda_engine, tmp_path):
    image, _ = migrated
    tag = f"zip-cli-{uuid.uuid4().hex[:8]}:1"
    command = [sys.executable, "-m", "pytest_lambda_image", "from-zip", str(zips.function)]
    for layer in zips.layers:
        command += ["--layer", str(layer)]
    command += ["--base", BASE_IMAGE, "--handler", zips.handler, "--out", str(tmp_path / "image"), "--tag", tag]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert done.returncode == 0, done.stderr
    try:
        assert done.stdout.splitlines() == [tag]
        assert lambda_engine.client.images.get(tag).id == image.id  # same inputs, same image
        assert (tmp_path / "image" / "Dockerfile").read_text().startswith("# Generated by pytest-lambda-image")
    finally:
        lambda_engine.client.images.remove(tag)


def test_the_command_refuses_a_zip_slip_layer_in_one_line(zips, tmp_path):
    bad = write_zip(tmp_path / "evil.zip", {"python/ok.py": "", "../../etc/cron.d/x": "boom"})
    command = [sys.executable, "-m", "pytest_lambda_image", "from-zip", str(zips.function), "--layer", str(bad)]
    done = subprocess.run(
        [*command, "--handler", "app.handler", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        "from-zip: layer 1 evil.zip: entry '../../etc/cron.d/x' climbs out of the zip with '..': "
        "rebuild the zip without it"
    ]
    assert not (tmp_path / "out").exists() and not (tmp_path.parent / "etc").exists()
