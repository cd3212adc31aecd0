"""What decides a build's result (hashed, so unchanged inputs are not
rebuilt), and what a Dockerfile or a context says about how to build it."""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Mapping
from pathlib import Path

import docker.errors
import requests.exceptions
from docker.utils.build import exclude_paths

from .._runtime.engine import DockerEngine
from .spec import BuildSpec

_ARG = re.compile(r"^\s*ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?", re.IGNORECASE)
_FROM = re.compile(r"^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)", re.IGNORECASE)
_VAR = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")
# Dockerfile features the legacy builder does not know, with what to call them.
_BUILDKIT_ONLY = (
    (re.compile(r"^\s*#\s*syntax\s*=", re.IGNORECASE), "a # syntax= frontend line"),
    (re.compile(r"^\s*RUN\b[^\n]*--mount\b", re.IGNORECASE | re.MULTILINE), "RUN --mount"),
    (re.compile(r"^\s*RUN\b[^\n]*--network\b", re.IGNORECASE | re.MULTILINE), "RUN --network"),
    (re.compile(r"^\s*(?:COPY|ADD)\b[^\n]*--chmod\b", re.IGNORECASE | re.MULTILINE), "COPY --chmod"),
    (re.compile(r"^\s*(?:COPY|ADD)\b[^\n]*--link\b", re.IGNORECASE | re.MULTILINE), "COPY --link"),
    (re.compile(r"^\s*(?:RUN|COPY)\b[^\n]*<<-?[\"']?[A-Za-z_]", re.IGNORECASE | re.MULTILINE), "a heredoc"),
)
_TEST_FILE = re.compile(r"(?:^|/)(?:test_[^/]*\.py|[^/]*_test\.py|conftest\.py|pytest\.ini|tox\.ini)$")


def base_images(dockerfile_text: str, build_args: Mapping[str, str]) -> list[str]:
    """FROM references with ARG defaults / build args substituted; stage
    names and `scratch` are left out."""
    args: dict[str, str] = {}
    stages: set[str] = set()
    bases: list[str] = []
    for line in dockerfile_text.splitlines():
        arg = _ARG.match(line)
        if arg:
            args[arg[1]] = build_args.get(arg[1], (arg[2] or "").strip("\"'"))
            continue
        frm = _FROM.match(line)
        if not frm:
            continue
        ref = _VAR.sub(lambda m: args.get(m[1], build_args.get(m[1], "")), frm[1])
        if ref and ref.lower() != "scratch" and ref.lower() not in stages:
            bases.append(ref)
        parts = line.split()
        if len(parts) >= 4 and parts[-2].lower() == "as":
            stages.add(parts[-1].lower())
    return bases


def buildkit_features(dockerfile_text: str) -> list[str]:
    """The BuildKit-only features a Dockerfile uses (empty: any builder will do)."""
    return [name for pattern, name in _BUILDKIT_ONLY if pattern.search(dockerfile_text)]


def context_files(context: Path, dockerfile: Path) -> list[str]:
    """The files docker would send, after .dockerignore, sorted."""
    ignore = context / ".dockerignore"
    patterns = []
    if ignore.is_file():
        patterns = [
            line.strip() for line in ignore.read_text().splitlines() if line.strip() and not line.startswith("#")
        ]
    return sorted(exclude_paths(str(context), patterns, dockerfile=os.path.basename(dockerfile)))


def find_test_files(files: list[str]) -> list[str]:
    """Test files in a build context: each edit of one rebuilds the image."""
    return [rel for rel in files if _TEST_FILE.search(rel.replace(os.sep, "/"))]


def inputs_hash(engine: DockerEngine, spec: BuildSpec, context: Path, dockerfile: Path, files: list[str]) -> str:
    """Everything that decides the build's result: the files docker would send
    (after .dockerignore), the Dockerfile, build args, target, platform, the
    ids of local base images (so a rebuilt base triggers a rebuild), and the
    ids (never the values) of build secrets."""
    digest = hashlib.sha256()
    text = dockerfile.read_bytes()
    digest.update(b"dockerfile\0" + text)
    for key in sorted(spec.build_args):
        digest.update(f"arg\0{key}\0{spec.build_args[key]}\0".encode())
    digest.update(f"target\0{spec.target}\0platform\0{spec.platform}\0".encode())
    for secret in sorted(spec.secrets):  # normalized by BuildSpec: "id=NAME,..." first
        digest.update(f"secret\0{secret.split(',', 1)[0]}\0".encode())
    for base in base_images(text.decode("utf-8", errors="replace"), spec.build_args):
        try:
            digest.update(f"base\0{base}\0{engine.client.images.get(base).id}\0".encode())
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            digest.update(f"base\0{base}\0?\0".encode())
    for rel in files:
        path = context / rel
        if path.is_symlink():
            digest.update(f"link\0{rel}\0{os.readlink(path)}\0".encode())
        elif path.is_file():
            digest.update(f"file\0{rel}\0{path.stat().st_mode & 0o777}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        elif path.is_dir():
            digest.update(f"dir\0{rel}\0".encode())
    return digest.hexdigest()


def build_identity(context: Path, dockerfile: Path, spec: BuildSpec) -> str:
    """Which images are versions of the same build, for pruning."""
    key = f"{context}\0{dockerfile}\0{spec.target}\0{spec.platform}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]
