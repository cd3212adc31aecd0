"""OCI image layouts (what buildx and skopeo write) and Lambda's limits, on
archives built in memory."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import tempfile

import pytest

from pytest_lambda_image.audit import ImageAudit, archive
from pytest_lambda_image.audit.archive import reap_stale_archives
from pytest_lambda_image.audit.filesystem import ImageFilesystem, layers_from_bytes
from pytest_lambda_image.audit.limits import (
    MAX_IMAGE_BYTES,
    entrypoint_findings,
    env_findings,
    manifest_findings,
    platform_findings,
    readability_findings,
    size_findings,
)
from pytest_lambda_image.errors import LambdaImageError

from .layers import F, d, layer
from .test_extensions import elf

INDEX = "application/vnd.oci.image.index.v1+json"
MANIFEST = "application/vnd.oci.image.manifest.v1+json"


class Layout:
    """An OCI image layout tar, blob by blob."""

    def __init__(self) -> None:
        self.blobs: dict[str, bytes] = {}

    def blob(self, data: bytes, media_type: str, **extra) -> dict:
        digest = "sha256:" + hashlib.sha256(data).hexdigest()
        self.blobs[digest] = data
        return {"mediaType": media_type, "digest": digest, "size": len(data), **extra}

    def json_blob(self, document: dict, media_type: str, **extra) -> dict:
        return self.blob(json.dumps(document).encode(), media_type, **extra)

    def image(self, layers: list[bytes], config: dict, **extra) -> dict:
        descriptors = [self.blob(gzip.compress(blob), "application/vnd.oci.image.layer.v1.tar+gzip") for blob in layers]
        config = {
            "architecture": "amd64",
            "os": "linux",
            "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(b).hexdigest() for b in layers]},
            **config,
        }
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST,
            "config": self.json_blob(config, "application/vnd.oci.image.config.v1+json"),
            "layers": descriptors,
        }
        return self.json_blob(manifest, MANIFEST, **extra)

    def write(self, path, index: dict) -> None:
        with tarfile.open(path, "w") as tar:
            for name, data in [
                ("oci-layout", b'{"imageLayoutVersion":"1.0.0"}'),
                ("index.json", json.dumps(index).encode()),
            ] + [(f"blobs/sha256/{digest.split(':')[1]}", data) for digest, data in self.blobs.items()]:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


GOOD_CONFIG = {"config": {"Entrypoint": ["/bootstrap"], "Env": ["PATH=/bin"]}, "history": [{"created_by": "COPY"}]}


def test_oci_layout_with_compressed_layers(tmp_path):
    layout = Layout()
    manifest = layout.image([layer(F("bootstrap", elf(), mode=0o755))], GOOD_CONFIG)
    layout.write(tmp_path / "oci.tar", {"schemaVersion": 2, "manifests": [manifest]})
    with ImageAudit.from_archive(tmp_path / "oci.tar") as audit:
        assert audit.filesystem.read("/bootstrap") == elf()
        assert audit.filesystem.layers[0].created_by == "COPY"
        assert audit.limits().ok, audit.limits().format()


def test_oci_layout_holding_an_attestation_index(tmp_path):
    layout = Layout()
    image = layout.image(
        [layer(F("bootstrap", elf(183), mode=0o755))],
        {**GOOD_CONFIG, "architecture": "arm64"},
        platform={"os": "linux", "architecture": "arm64"},
    )
    attestation = layout.json_blob(
        {"schemaVersion": 2, "mediaType": MANIFEST, "layers": []},
        MANIFEST,
        platform={"os": "unknown", "architecture": "unknown"},
    )
    inner = layout.json_blob({"schemaVersion": 2, "mediaType": INDEX, "manifests": [image, attestation]}, INDEX)
    layout.write(tmp_path / "oci.tar", {"schemaVersion": 2, "manifests": [inner]})
    with ImageAudit.from_archive(tmp_path / "oci.tar") as audit:
        assert audit.filesystem.get("/bootstrap").is_file  # the runnable manifest was picked
        findings = audit.limits().findings
        assert [f.rule for f in findings] == ["attestation-manifest"], audit.limits().format()
        assert "next to linux/arm64" in findings[0].message


def test_manifest_findings():
    assert manifest_findings(MANIFEST, [], "x") == []
    multi = manifest_findings(
        INDEX, [{"os": "linux", "architecture": "amd64"}, {"os": "linux", "architecture": "arm64"}], "x"
    )
    assert [f.rule for f in multi] == ["multi-platform-index"]
    assert "linux/amd64, linux/arm64" in multi[0].message and "--provenance=false" in multi[0].message


def test_platform_size_and_env():
    assert platform_findings("linux", "arm64", "v8") == []
    assert "platform windows/amd64" in platform_findings("windows", "amd64")[0].message
    assert size_findings(MAX_IMAGE_BYTES) == []
    assert size_findings(MAX_IMAGE_BYTES + 1)[0].rule == "image-too-large"
    assert env_findings(["A=" + "x" * 4095]) == []
    (warning,) = env_findings(["A=" + "x" * 4096])
    assert warning.severity == "warning" and "4097 bytes" in warning.message


def fs(*items: F) -> ImageFilesystem:
    return ImageFilesystem(layers_from_bytes([layer(*items)]))


def test_entrypoint_checks():
    image = fs(
        d("bin"), F("bin/sh", elf(), mode=0o755), d("usr"), d("usr/bin"),
        F("usr/bin/run", b"#!/bin/sh\n", mode=0o755), F("secret", elf(), mode=0o700),
        F("crlf.sh", b"#!/bin/sh\r\n", mode=0o755), F("arm", elf(183), mode=0o755),
    )  # fmt: skip
    path = ["PATH=/usr/bin"]
    assert entrypoint_findings(image, {"Entrypoint": ["run"], "Env": path}) == []
    assert entrypoint_findings(image, {"Cmd": ["/usr/bin/run", "x"]}) == []
    assert "is not on the image's PATH" in entrypoint_findings(image, {"Entrypoint": ["nope"], "Env": path})[0].message
    assert "does not exist" in entrypoint_findings(image, {"Entrypoint": ["/bootstrap"]})[0].message
    assert "0700 root:root" in entrypoint_findings(image, {"Entrypoint": ["/secret"]})[0].message
    assert entrypoint_findings(image, {})[0].rule == "no-entrypoint"
    assert [f.rule for f in entrypoint_findings(image, {"Entrypoint": ["/crlf.sh"]})] == ["entrypoint-crlf-shebang"]
    (arm,) = entrypoint_findings(image, {"Entrypoint": ["/arm"]}, "amd64")
    assert arm.rule == "entrypoint-wrong-architecture" and arm.where == "ENTRYPOINT /arm"


def test_readability_groups_per_root():
    image = fs(
        d("var"), d("var/task"), F("var/task/a.py", mode=0o600), F("var/task/b.py", mode=0o640, gid=990),
        d("var/task/pkg", mode=0o700), F("var/task/pkg/c.py"), d("opt"), F("opt/ok", mode=0o644),
    )  # fmt: skip
    (finding,) = readability_findings(image, ["/var/task", "/opt", "/missing"])
    assert finding.where == "/var/task" and finding.severity == "warning"
    assert "2 path(s)" in finding.message  # b.py is group-readable by gid 990; pkg/c.py is behind pkg
    assert "/var/task/a.py (0600 root:root)" in finding.message and "/var/task/pkg (0700 root:root)" in finding.message


def test_archives_of_dead_processes_are_reaped(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    prefix = f"pytest-lambda-image-audit-{archive._NAMESPACE}-"
    dead = tmp_path / f"{prefix}99999999-abc"
    mine = tmp_path / f"{prefix}{os.getpid()}-def"
    odd = [tmp_path / f"{prefix}{name}-x" for name in ("notapid", "\u00b2", "9" * 30)]
    other_namespace = tmp_path / "pytest-lambda-image-audit-1-99999999-abc"
    for directory in (dead, mine, other_namespace, *odd):
        directory.mkdir()
    reap_stale_archives()
    assert not dead.exists()
    assert mine.exists() and other_namespace.exists() and all(d.exists() for d in odd)


def test_unreadable_archives_are_one_line_errors(tmp_path):
    not_tar = tmp_path / "x.tar"
    not_tar.write_text("nope")
    with pytest.raises(LambdaImageError, match="is not an image archive"):
        ImageAudit.from_archive(not_tar)
    empty = tmp_path / "empty.tar"
    with tarfile.open(empty, "w"):
        pass
    with pytest.raises(LambdaImageError, match=r"neither manifest\.json"):
        ImageAudit.from_archive(empty)
    odd = tmp_path / "odd.tar"
    with tarfile.open(odd, "w") as tar:
        for name, document in (
            ("manifest.json", [{"Config": "c.json", "Layers": []}]),
            ("c.json", ["not", "a", "dict"]),
        ):
            data = json.dumps(document).encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(LambdaImageError, match="not a readable image archive: TypeError"):
        ImageAudit.from_archive(odd)
