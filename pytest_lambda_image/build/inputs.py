"""What decides a build's result (hashed, so unchanged inputs are not
rebuilt), and what a Dockerfile or a context says about how to build it."""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path

import docker.errors
import requests.exceptions
from docker.utils.build import exclude_paths

from .._runtime.engine import DockerEngine
from .dockerfile import parse, stages
from .spec import BuildSpec

# Dockerfile features the legacy builder does not know, with what to call them: (instructions, flag, name).
_BUILDKIT_FLAGS = (
    (("RUN",), "mount", "RUN --mount"),
    (("RUN",), "network", "RUN --network"),
    (("COPY", "ADD"), "chmod", "COPY --chmod"),
    (("COPY", "ADD"), "link", "COPY --link"),
)
# Directories tools rewrite as they run (pytest on every run): hashed only when a COPY or ADD reaches them.
CACHE_DIRS = frozenset(
    {".pytest_cache", "__pycache__", ".mypy_cache", ".ruff_cache", ".hypothesis", ".tox", ".nox", ".venv"}
)
_FLAGS = re.compile(r"^(?:--\S+\s+)*")
_TEST_FILE = re.compile(r"(?:^|/)(?:test_[^/]*\.py|[^/]*_test\.py|conftest\.py|pytest\.ini|tox\.ini)$")


def base_images(dockerfile_text: str, build_args: Mapping[str, str]) -> list[str]:
    """FROM references with ARG defaults / build args substituted; stage
    names and `scratch` are left out."""
    names: set[str] = set()
    bases: list[str] = []
    for stage in stages(parse(dockerfile_text), build_args):
        if stage.base and stage.base.lower() != "scratch" and stage.base.lower() not in names:
            bases.append(stage.base)
        if stage.name:
            names.add(stage.name.lower())
    return bases


def buildkit_features(dockerfile_text: str) -> list[str]:
    """The BuildKit-only features a Dockerfile uses (empty: any builder will do)."""
    parsed = parse(dockerfile_text)
    found = ["a # syntax= frontend line"] if "syntax" in parsed.directives else []
    for keywords, flag, name in _BUILDKIT_FLAGS:
        if any(i.keyword in keywords and i.flag(flag) is not None for i in parsed.instructions) and name not in found:
            found.append(name)
    if any(i.heredoc for i in parsed.instructions):
        found.append("a heredoc")
    return found


def context_files(context: Path, dockerfile: Path) -> list[str]:
    """The files docker would send, after .dockerignore, sorted."""
    ignore = context / ".dockerignore"
    patterns = []
    if ignore.is_file():
        patterns = [
            line.strip() for line in ignore.read_text().splitlines() if line.strip() and not line.startswith("#")
        ]
    return sorted(exclude_paths(str(context), patterns, dockerfile=os.path.basename(dockerfile)))


def copied_sources(dockerfile_text: str) -> list[str] | None:
    """The context paths (patterns) COPY and ADD take, or None when the build
    may read any file of the context: a RUN --mount of it, or a source with a
    variable in it. (An ONBUILD COPY of a base image is not seen here: at
    worst it copies a cache directory as it was.)"""
    sources: list[str] = []
    for instruction in parse(dockerfile_text).instructions:
        if instruction.keyword == "RUN" and any(_binds_context(flag) for flag in instruction.flags):
            return None
        if instruction.keyword not in ("COPY", "ADD") or instruction.flag("from") is not None:
            continue
        words = list(instruction.words)
        body = _FLAGS.sub("", instruction.text)
        if body.startswith("["):  # the JSON form
            try:
                words = [str(word) for word in json.loads(body)]
            except ValueError:
                return None
        for source in words[:-1]:
            if source.startswith("<<") or "://" in source or source.startswith("git@"):
                continue  # a heredoc or a URL: not from the context
            if "$" in source:
                return None
            sources.append(source)
    return sources


def _binds_context(flag: str) -> bool:
    if not flag.startswith("--mount="):
        return False
    fields = dict(part.partition("=")[::2] for part in flag[len("--mount=") :].split(","))
    return fields.get("type", "bind") == "bind" and "from" not in fields


def cache_dir_of(rel: str) -> str | None:
    """The cache directory (CACHE_DIRS) a context entry is, or is in, as a path, or None."""
    parts = rel.replace(os.sep, "/").split("/")
    for index, part in enumerate(parts):
        if part in CACHE_DIRS:
            return "/".join(parts[: index + 1])
    return None


def hashed_files(files: list[str], sources: list[str] | None) -> list[str]:
    """The context files that decide the build: all, but a cache directory's
    only when a COPY or ADD reaches it (then Docker copies it, so it counts)."""
    if sources is None:
        return files
    return [rel for rel in files if cache_dir_of(rel) is None or any(_reaches(source, rel) for source in sources)]


def _reaches(source: str, rel: str) -> bool:
    """Whether COPY `source` copies the context file `rel`: the pattern names
    the file or one of the directories it is in."""
    pattern = [part for part in source.replace("\\", "/").split("/") if part not in ("", ".")]
    parts = rel.replace(os.sep, "/").split("/")
    if len(pattern) > len(parts):
        return False
    return all(fnmatch.fnmatchcase(part, each) for part, each in zip(parts, pattern))


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
