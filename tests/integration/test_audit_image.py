"""Extension, layer-layout and Lambda-limit audits on real images built from
tests/images/audit, plus the manifest check against a real registry."""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import uuid

import pytest
import requests

from pytest_lambda_image.audit import AuditFailure, ImageAudit
from pytest_lambda_image.audit.limits import entrypoint_findings
from tests.conftest import BASE_IMAGE, IMAGES, compile_static, remove_repository

GOOD_C = "int main(void) { return 0; }\n"


@pytest.fixture(scope="session")
def opt_layout_image(lambda_image_factory, lambda_engine, base_image, tmp_path_factory):
    """tests/images/audit/opt-layout with every extension case and some layers."""
    context = tmp_path_factory.mktemp("opt-layout")
    shutil.copy(IMAGES / "audit" / "opt-layout" / "Dockerfile", context / "Dockerfile")
    ext = context / "extensions"
    ext.mkdir()
    (ext / "good.sh").write_bytes(b"#!/bin/sh\necho hello\n")
    (ext / "crlf.sh").write_bytes(b"#!/bin/sh\r\necho hello\r\n")
    (ext / "missing-interpreter.sh").write_bytes(b"#!/usr/bin/node\nconsole.log(1)\n")
    (ext / "not-executable").write_bytes(b"#!/bin/sh\necho hello\n")
    source = context / "good.c"
    source.write_text(GOOD_C)
    compile_static(source, ext / "good-bin")
    shutil.copy(ext / "good-bin", ext / "root-only")
    subprocess.run(["gcc", "-O2", "-o", str(ext / "dynamic-bin"), str(source)], check=True)
    cross = shutil.which("aarch64-linux-gnu-gcc")
    if cross is None:
        pytest.fail("aarch64-linux-gnu-gcc is needed for the wrong-architecture case: run scripts/setup.sh")
    subprocess.run([cross, "-static", "-O2", "-o", str(ext / "wrong-arch"), str(source)], check=True)
    source.unlink()
    for path, text in {
        "python/mylayer/__init__.py": "",
        "python/lib/python3.11/site-packages/yaml_like/__init__.py": "",
        "python/lib/python3.9/site-packages/old_lib/__init__.py": "",
        "nodejs/node_modules/left-pad/index.js": "",
    }.items():
        target = context / "layer" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
    (context / "app.py").write_text("def handler(event, context):\n    return 'ok'\n")
    (context / "private.json").write_text("{}\n")
    image = lambda_image_factory.build(context, build_args={"BASE_IMAGE": BASE_IMAGE})
    with ImageAudit.of(lambda_engine, image) as audit:
        yield audit


def by_name(report) -> dict[str, str]:
    return {f.where.rsplit("/", 1)[-1]: f.rule for f in report.findings}


def test_every_extension_case(opt_layout_image):
    report = opt_layout_image.extensions()
    assert by_name(report) == {
        "crlf.sh": "crlf-shebang",
        "dangling": "dangling-symlink",
        "helpers": "directory",
        "missing-interpreter.sh": "missing-interpreter",
        "not-executable": "not-executable",
        "root-only": "not-executable-by-lambda",
        "wrong-arch": "wrong-architecture",
    }, report.format()
    formats = {ext.name: ext.format for ext in opt_layout_image.extension_list()}
    assert formats["good-bin"] == formats["dynamic-bin"] == "elf" and formats["good.sh"] == "script"
    dynamic = next(e for e in opt_layout_image.extension_list() if e.name == "dynamic-bin")
    assert dynamic.interpreter.startswith("/lib")  # its loader exists in the image, so no finding
    assert report.warnings[0].rule == "directory"


def test_assertion_reads_as_a_report(opt_layout_image):
    with pytest.raises(AuditFailure) as failure:
        opt_layout_image.assert_extensions_executable()
    text = str(failure.value)
    assert text.startswith("extensions audit of pytest-lambda-image/opt-layout")
    assert "6 errors, 1 warning" in text
    assert "[not-executable-by-lambda] /opt/extensions/root-only: /opt/extensions/root-only (0700 root:root)" in text
    assert "an ELF binary for aarch64, but the image is linux/amd64 (x86_64)" in text


def test_layer_layout(opt_layout_image):
    layout = opt_layout_image.layout()
    assert layout.python_versions == ("3.11",)
    assert layout.packages("python") == {"mylayer", "yaml_like", "old_lib"}
    assert layout.packages("nodejs") == {"left-pad"}
    report = opt_layout_image.layers(python=["mylayer", "yaml_like"], nodejs=["left-pad"])
    assert [(f.rule, f.where) for f in report.findings] == [
        ("python-version-mismatch", "/opt/python/lib/python3.9/site-packages")
    ]
    with pytest.raises(AuditFailure, match=r"missing-layer-package.*requests not found"):
        opt_layout_image.assert_layers(python=["requests"])


def test_limits_warn_about_files_lambda_cannot_read(opt_layout_image):
    report = opt_layout_image.limits()
    assert report.ok, report.format()
    warnings = {f.where: f for f in report.warnings}
    assert set(warnings) == {"/var/task", "/opt"}
    assert warnings["/var/task"].rule == "unreadable-by-lambda"
    assert "1 path(s)" in warnings["/var/task"].message
    assert "/var/task/private.json (0600 root:root)" in warnings["/var/task"].message
    assert "/opt/extensions/root-only (0700 root:root)" in warnings["/opt"].message
    opt_layout_image.assert_lambda_limits()
    with pytest.raises(AuditFailure, match="unreadable-by-lambda"):
        opt_layout_image.assert_lambda_limits(strict=True)


def test_realistic_function_image_passes_every_audit(lambda_audit, python_image):
    audit = lambda_audit(python_image)
    for report in audit.reports():
        assert report.findings == [], report.format()


def test_no_entrypoint(lambda_image_factory, lambda_engine):
    image = lambda_image_factory.build(IMAGES / "audit" / "no-entrypoint")
    with ImageAudit.of(lambda_engine, image) as audit:
        assert [f.rule for f in audit.limits().findings] == ["no-entrypoint"]


def test_entrypoint_through_a_merged_usr_symlink(lambda_image_factory, lambda_engine, tmp_path):
    """/bin is a symlink to usr/bin on Debian, Ubuntu and Amazon Linux 2023: /bin/sh is there."""
    context = tmp_path / f"merged-usr-{uuid.uuid4().hex[:8]}"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f'FROM {BASE_IMAGE}\nENTRYPOINT ["/bin/sh", "-c", "exec /lambda-entrypoint.sh app.handler"]\n'
    )
    image = lambda_image_factory.build(context)
    try:
        with ImageAudit.of(lambda_engine, image) as audit:
            assert audit.filesystem.get("/bin").is_symlink  # the premise: a merged-/usr image
            assert audit.limits().findings == []
    finally:
        remove_repository(lambda_engine, f"pytest-lambda-image/{context.name}")


def test_audit_of_a_saved_archive_needs_no_engine(lambda_engine, scratch_image, tmp_path):
    archive = tmp_path / "image.tar"
    with archive.open("wb") as out:
        for chunk in lambda_engine.client.api.get_image(scratch_image.id):
            out.write(chunk)
    with ImageAudit.from_archive(archive) as audit:
        assert audit.filesystem.get("/bootstrap").is_file
        assert all(report.ok for report in audit.reports())


def test_unsupported_platform(lambda_engine, scratch_image, tmp_path):
    """This engine builds only for its own platform (the legacy builder ignores
    --platform for FROM scratch), so the archive's config is rewritten instead."""
    saved = tmp_path / "saved.tar"
    with saved.open("wb") as out:
        for chunk in lambda_engine.client.api.get_image(scratch_image.id):
            out.write(chunk)
    edited = tmp_path / "edited.tar"
    with tarfile.open(saved) as source, tarfile.open(edited, "w") as target:
        for member in source:
            data = source.extractfile(member).read() if member.isfile() else None
            if member.name.endswith(".json") and member.name != "manifest.json":
                config = json.loads(data)
                config.update(architecture="arm", variant="v7")
                data = json.dumps(config).encode()
                member.size = len(data)
            target.addfile(member, io.BytesIO(data) if data is not None else None)
    with ImageAudit.from_archive(edited) as audit:
        (finding,) = audit.limits().findings
        assert finding.rule == "unsupported-platform"
        assert "platform linux/arm/v7: Lambda runs only linux/amd64 and linux/arm64" in finding.message


@pytest.fixture
def pushed_index(registry, lambda_engine, scratch_image):
    """The scratch image pushed as a plain manifest (:single) and wrapped in
    an OCI index with a buildx-style attestation entry (:index)."""
    repository = f"{registry}/audit/fn-{uuid.uuid4().hex[:6]}"
    client = lambda_engine.client
    client.images.get(scratch_image.id).tag(repository, "single")
    for line in client.api.push(repository, tag="single", stream=True, decode=True):
        assert "error" not in line, line
    name = repository.split("/", 1)[1]
    head = requests.get(
        f"http://{registry}/v2/{name}/manifests/single",
        headers={"Accept": "application/vnd.docker.distribution.manifest.v2+json"},
        timeout=10,
    )
    manifest = {"mediaType": head.headers["Content-Type"], "digest": head.headers["Docker-Content-Digest"],
                "size": len(head.content)}  # fmt: skip
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {**manifest, "platform": {"os": "linux", "architecture": "amd64"}},
            {**manifest, "platform": {"os": "unknown", "architecture": "unknown"},
             "annotations": {"vnd.docker.reference.type": "attestation-manifest"}},
        ],
    }  # fmt: skip
    body = json.dumps(index).encode()
    put = requests.put(
        f"http://{registry}/v2/{name}/manifests/index",
        data=body,
        headers={"Content-Type": index["mediaType"]},
        timeout=10,
    )
    assert put.status_code == 201, put.text
    assert put.headers["Docker-Content-Digest"] == "sha256:" + hashlib.sha256(body).hexdigest()
    yield repository
    remove_repository(lambda_engine, repository)


def test_pushed_attestation_index_is_reported(pushed_index, lambda_engine, scratch_image):
    with ImageAudit.of(lambda_engine, scratch_image) as audit:
        assert audit.limits(pushed=f"{pushed_index}:single").ok
        report = audit.limits(pushed=f"{pushed_index}:index")
        (finding,) = report.findings
        assert finding.rule == "attestation-manifest"
        assert "--provenance=false" in finding.message and "linux/amd64" in finding.message


def test_command_line_audit(opt_layout_image, scratch_image):
    def audit(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "pytest_lambda_image", "audit", *args]
        return subprocess.run(command, capture_output=True, text=True, timeout=120)

    clean = audit(scratch_image.ref)
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "credentials: ok" in clean.stdout
    failing = audit(opt_layout_image.name)
    assert failing.returncode == 1
    assert "[wrong-architecture] /opt/extensions/wrong-arch" in failing.stdout
    assert (
        audit("no-such-image:1").stderr == "audit: image no-such-image:1 is not on the engine: build or pull it first\n"
    )


def test_paths_through_symlinked_directories(lambda_image_factory, lambda_engine):
    """tests/images/audit/symlinked-paths on the merged-/usr stand-in base:
    ENTRYPOINT /bin/sh, a `#!/usr/bin/env python3` extension and one that is
    a symlink into a symlinked directory (its #! line going through another)
    are fine; a path dangling through a symlinked directory and one whose walk
    passes a directory Lambda cannot enter are reported."""
    image = lambda_image_factory.build(IMAGES / "audit" / "symlinked-paths", build_args={"BASE_IMAGE": BASE_IMAGE})
    with ImageAudit.of(lambda_engine, image) as audit:
        fs = audit.filesystem
        assert fs.get("/bin").is_symlink and fs.get("/opt/toolbox").is_symlink  # the premise
        report = audit.extensions()
        assert by_name(report) == {
            "dangling-through-link": "dangling-symlink",
            "through-locked": "not-executable-by-lambda",
        }, report.format()
        assert "directory /opt/locked (0700 root:root) cannot be entered" in report.format()
        scripts = {e.name: e.interpreter for e in audit.extension_list() if e.format == "script"}
        assert scripts == {
            "env-python": "/usr/bin/env python3",
            "sh-script": "/bin/sh",
            "through-locked": "/opt/runtime/bin/sh",
            "via-toolbox": "/opt/runtime/bin/sh",
        }
        limits = audit.limits()
        assert limits.ok and [f.rule for f in limits.findings] == ["unreadable-by-lambda"], limits.format()
        assert "/opt/locked (0700 root:root)" in limits.findings[0].message  # a warning, not the entrypoint
        missing = entrypoint_findings(fs, {"Entrypoint": ["/bin/no-such-shell"]}, audit.architecture)
        assert [(f.rule, f.message) for f in missing] == [
            ("entrypoint-not-runnable", "/bin/no-such-shell does not exist in the image")
        ]
