"""A .zip function of a template (`PackageType: Zip`), tested as the image
of it: its code (a .zip, or a directory such as `sam build` leaves in
.aws-sam/build) into /var/task and its layers (LayerVersion resources of
the same template) into /opt, in order, on the AWS base image of its
Runtime; build/zip_image.py does the extracting and writes the Dockerfile.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..build.zip_image import prepare_zip_image
from ..errors import ConfigError
from .intrinsics import Resolver, Unresolved

KEEP_CONTEXTS = 3  # per function, newest first
LAYER_TYPES = {"AWS::Serverless::LayerVersion": "ContentUri", "AWS::Lambda::LayerVersion": "Content"}
_RUNTIME = re.compile(r"^(python|nodejs|java|ruby|dotnet|provided)(.*)$")
_HOW = (
    "the plugin builds a .zip function from local artifacts: CodeUri a .zip or a directory (e.g. after `sam build`, "
    "lambda_template = .aws-sam/build/template.yaml) and Layers that !Ref LayerVersions with a local ContentUri"
)


def runtime_base(runtime: str) -> str | None:
    """The AWS base image of a managed runtime: python3.12 -> public.ecr.aws/lambda/python:3.12."""
    found = _RUNTIME.match(runtime)
    if not found:
        return None
    language, version = found.groups()
    version = version.lstrip(".").removesuffix(".x")
    return f"public.ecr.aws/lambda/{language}:{version}" if version else None


@dataclass(frozen=True)
class ZipSource:
    logical_id: str
    code: Path  # a .zip or a directory
    layers: tuple[Path, ...]
    handler: str
    runtime: str

    @property
    def base(self) -> str:
        return runtime_base(self.runtime) or ""

    def context(self, cache: Path) -> Path:
        """The build context (Dockerfile, layers/, function/) under `cache`,
        written once per content: the same code, layers, handler and base
        find the directory an earlier session (or xdist worker) wrote."""
        digest = hashlib.sha256(f"{self.handler}\0{self.base}".encode())
        for path in (self.code, *self.layers):
            digest.update(_content_digest(path).encode())
        out = cache / f"{self.logical_id.lower()}-{digest.hexdigest()[:16]}"
        if (out / "Dockerfile").is_file():
            return out
        cache.mkdir(parents=True, exist_ok=True)
        work = Path(tempfile.mkdtemp(prefix=".from-zip-", dir=cache))
        try:
            zips = [_as_zip(path, work / f"{n}.zip") for n, path in enumerate((self.code, *self.layers))]
            staged = work / f"context-{uuid.uuid4().hex}"
            prepare_zip_image(zips[0], zips[1:], handler=self.handler, out_dir=staged, base=self.base)
            try:
                os.rename(staged, out)  # atomic: a concurrent writer's identical copy may already be there
            except OSError:
                if not (out / "Dockerfile").is_file():
                    raise
        finally:
            shutil.rmtree(work, ignore_errors=True)
        _prune(cache, f"{self.logical_id.lower()}-", keep=KEEP_CONTEXTS)
        return out


def _prune(cache: Path, prefix: str, keep: int) -> None:
    """Older contexts of the same function go, as older images of a build do."""
    found = sorted(
        (path for path in cache.iterdir() if path.name.startswith(prefix) and path.is_dir()),
        key=lambda path: path.stat().st_mtime,
        reverse=True,
    )
    for old in found[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def read_zip_source(
    template: Mapping[str, Any],
    logical_id: str,
    properties: Mapping[str, Any],
    resolver: Resolver,
    template_dir: Path,
    what: str,
) -> ZipSource:
    def text(name: str) -> str | None:
        raw = properties.get(name)
        if raw is None:
            return None
        try:
            value = resolver.resolve(raw)
        except Unresolved as exc:
            raise ConfigError(f"{what}: {name} is {exc}: give it with lambda_template_parameters") from None
        return value if isinstance(value, str) else None

    runtime = text("Runtime")
    if not runtime or runtime_base(runtime) is None:
        raise ConfigError(f"{what} is a .zip function without a managed Runtime ({runtime!r}): {_HOW}")
    code_uri = text("CodeUri")  # AWS::Lambda::Function's Code is S3 or inline: not a local artifact
    if not code_uri or "://" in code_uri:
        raise ConfigError(f"{what} is a .zip function whose code is not a local file ({code_uri or 'S3'}): {_HOW}")
    code = (template_dir / code_uri).resolve()
    if not code.exists():
        raise ConfigError(f"{what}: CodeUri {code} does not exist (run `sam build`, or build the .zip, first)")
    handler = text("Handler") or ("bootstrap" if runtime.startswith("provided") else None)
    if not handler:
        raise ConfigError(f"{what} is a .zip function without a Handler")
    layers = tuple(_layer(entry, template, resolver, template_dir, what) for entry in properties.get("Layers") or ())
    return ZipSource(logical_id, code, layers, handler, runtime)


def _layer(entry: Any, template: Mapping[str, Any], resolver: Resolver, template_dir: Path, what: str) -> Path:
    name = entry.get("Ref") if isinstance(entry, dict) and set(entry) == {"Ref"} else None
    resource = (template.get("Resources") or {}).get(name) if isinstance(name, str) else None
    kind = resource.get("Type") if isinstance(resource, dict) else None
    if kind not in LAYER_TYPES:
        shown = entry if isinstance(entry, str) else f"!Ref {name}" if name else str(entry)
        raise ConfigError(
            f"{what}: layer {shown} is not a LayerVersion of this template, so its content is not here: "
            "download it (aws lambda get-layer-version-by-arn, then its Content.Location) and declare it as an "
            "AWS::Serverless::LayerVersion with that ContentUri"
        )
    assert isinstance(resource, dict)
    content = (resource.get("Properties") or {}).get(LAYER_TYPES[str(kind)])
    try:
        content = resolver.resolve(content)
    except Unresolved as exc:
        raise ConfigError(f"{what}: layer {name}'s content is {exc}") from None
    if not isinstance(content, str) or "://" in content:
        raise ConfigError(f"{what}: layer {name}'s content is not a local .zip or directory ({content!r}): {_HOW}")
    path = (template_dir / content).resolve()
    if not path.exists():
        raise ConfigError(f"{what}: layer {name}'s ContentUri {path} does not exist")
    return path


def _content_digest(path: Path) -> str:
    digest = hashlib.sha256()
    if path.is_file():
        with path.open("rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()
    for relative, entry in _entries(path):  # what _as_zip packs
        digest.update(f"{relative}\0{entry.stat().st_mode}\0".encode())
        if entry.is_file():
            digest.update(entry.read_bytes())
    return digest.hexdigest()


def _entries(path: Path) -> Iterator[tuple[str, Path]]:
    """Directories and files under `path`, symbolic links followed (a link
    back to a directory being walked is not entered again); dangling links
    are left out."""
    seen: set[str] = set()
    for root, directories, files in os.walk(path, followlinks=True):
        real = os.path.realpath(root)
        if real in seen:
            directories.clear()
            continue
        seen.add(real)
        for name in sorted(directories) + sorted(files):
            entry = Path(root, name)
            if entry.exists():
                yield str(entry.relative_to(path)), entry


def _as_zip(path: Path, dest: Path) -> Path:
    """A directory as a zip with its files' modes; symbolic links are
    followed and their targets' content stored, as SAM packages a directory
    (a monorepo's `shared -> ../../shared` works)."""
    if path.is_file():
        return path
    with zipfile.ZipFile(dest, "w", zipfile.ZIP_STORED) as archive:
        for relative, entry in _entries(path):
            archive.write(entry, relative)
    return dest
