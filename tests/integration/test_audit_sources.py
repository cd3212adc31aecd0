"""The three ways the audit reads an image give the same audit: the engine's
overlay2 storage (the fastest, used when this machine can read it), the
`docker save` stream, and a saved archive. Every version of every path the
layers wrote, what became of it, and every check's findings must agree, on
images that exercise deletions, opaque directories, hard links, symlinked
directories, vendored files and leaks."""

from __future__ import annotations

import shutil
import subprocess
import uuid

import pytest

from pytest_lambda_image.audit import ImageAudit
from pytest_lambda_image.audit.storage import SOURCE_ENV, LocalImage
from pytest_lambda_image.audit.stream import StreamedImage
from tests import fakes
from tests.conftest import BASE_IMAGE, IMAGES, remove_repository

# An image whose layers delete, hide (an opaque directory: a directory removed
# and made again in one step) and hard-link files.
LAYERED = f"""
FROM {BASE_IMAGE}
RUN mkdir -p /opt/data/old && echo one > /opt/data/old/a && echo two > /opt/data/keep \\
 && echo gone > /opt/data/gone && ln /opt/data/keep /opt/data/keep-link && mkfifo /opt/data/pipe
RUN rm /opt/data/gone && rm -rf /opt/data/old && mkdir /opt/data/old && echo new > /opt/data/old/b
RUN chmod 4750 /opt/data/keep && ln -s data/keep /opt/keep-symlink
"""


def findings(report) -> list[tuple[str, str, str, str]]:
    return sorted((f.rule, f.path, f.severity, f.message) for f in report.findings)


def snapshot(audit: ImageAudit) -> dict:
    fs = audit.filesystem
    return {
        "versions": sorted(
            (e.layer, e.path, e.kind, e.mode, e.uid, e.gid, e.size, e.link, e.hardlink, repr(removal))
            for e, removal in fs.versions()
        ),
        "credentials": findings(audit.credentials(max_file_bytes=1 << 20)),
        "extensions": findings(audit.extensions()),
        "layers": findings(audit.layers()),
        "limits": findings(audit.limits()),
        "layout": audit.layout().describe(),
        "config": audit.archive.config,
    }


@pytest.fixture
def built(tmp_path, lambda_engine, lambda_image_factory, base_image):
    names: list[str] = []

    def build(case: str | None, files: dict[str, str] | None = None, dockerfile: str | None = None):
        name = f"sources-{(case or 'layered')}-{uuid.uuid4().hex[:8]}"
        context = tmp_path / name
        if case is not None:
            shutil.copytree(IMAGES / "audit" / case, context)
        else:
            context.mkdir()
        for file_name, text in (files or {}).items():
            (context / file_name).write_text(text)
        if dockerfile is not None:
            (context / "Dockerfile").write_text(dockerfile)
        names.append(f"pytest-lambda-image/{name}")
        return lambda_image_factory.build(context, build_args={"BASE_IMAGE": BASE_IMAGE})

    yield build
    for repository in names:
        remove_repository(lambda_engine, repository)


@pytest.mark.parametrize(
    ("case", "files"),
    [
        (None, None),
        ("deleted-credentials", {"credentials": None}),
        ("symlinked-paths", None),
        ("private-key", {"server.key": None}),
    ],
)
def test_storage_stream_and_archive_give_the_same_audit(built, lambda_engine, monkeypatch, tmp_path, case, files):
    if files and "credentials" in files:
        key_id, secret = fakes.access_key_id("src"), fakes.secret_access_key("src")
        files = {"credentials": f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"}
    if files and "server.key" in files:
        files = {"server.key": fakes.private_key()}
    image = built(case, files, dockerfile=LAYERED if case is None else None)

    monkeypatch.setenv(SOURCE_ENV, "storage")
    with ImageAudit.of(lambda_engine, image) as from_storage:
        assert isinstance(from_storage.archive, LocalImage)
        expected = snapshot(from_storage)
    monkeypatch.setenv(SOURCE_ENV, "save")
    with ImageAudit.of(lambda_engine, image) as from_stream:
        assert isinstance(from_stream.archive, StreamedImage)
        assert snapshot(from_stream) == expected
    archive = tmp_path / "image.tar"
    with archive.open("wb") as out:
        subprocess.run(["docker", "save", image.id], stdout=out, check=True)
    with ImageAudit.from_archive(archive) as from_archive:
        assert snapshot(from_archive) == expected

    if case is None:  # what the layered image is for: each kind of layer change seen
        versions = {(layer, path): (kind, removal) for layer, path, kind, *_, removal in expected["versions"]}
        assert any(path == "/opt/data/gone" and removal != "None" for (_, path), (_, removal) in versions.items())
        assert any(path == "/opt/data/old/a" and removal != "None" for (_, path), (_, removal) in versions.items())
        assert any(v[8] for v in expected["versions"] if v[1] == "/opt/data/keep-link")  # a hard link
        assert any(v[2] == "fifo" for v in expected["versions"])


def test_insisting_on_storage_where_it_cannot_be_read_is_one_line(lambda_engine, monkeypatch, base_image):
    from pytest_lambda_image import ConfigError

    monkeypatch.setenv(SOURCE_ENV, "nonsense")
    with pytest.raises(ConfigError, match="use auto, storage or save"):
        ImageAudit.of(lambda_engine, base_image)
