"""Lambda's limits for container images, checked before the image is pushed:
one platform (linux/amd64 or linux/arm64, no multi-platform index), at most
10 GB uncompressed, an ENTRYPOINT or CMD that exists, environment within
4 KB, and files the function needs readable by Lambda's non-root user."""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .._lambda import MAX_ENV_BYTES, MAX_IMAGE_BYTES, PLATFORMS, env_bytes
from .._runtime.image import env_dict
from .extensions import ExecutableChecker, find_on_path
from .filesystem import ImageFilesystem
from .findings import Finding
from .permissions import EXECUTE, LAMBDA_USER, READ, access_problem

CHECK = "limits"
INDEX_MEDIA_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)
_FIX_INDEX = (
    "Lambda accepts only a single-platform image manifest: build with "
    "`docker buildx build --platform linux/amd64 --provenance=false --sbom=false` (or linux/arm64)"
)
_SHOWN = 5  # paths listed per readability finding


def platform_findings(os_name: str, architecture: str, variant: str = "") -> list[Finding]:
    if f"{os_name}/{architecture}" in PLATFORMS:
        return []
    platform = f"{os_name}/{architecture}" + (f"/{variant}" if variant else "")
    return [
        Finding(
            CHECK,
            "unsupported-platform",
            "image config",
            f"platform {platform}: Lambda runs only linux/amd64 and linux/arm64 images; "
            "build with --platform linux/amd64 or linux/arm64",
            path="config:Platform",
        )
    ]


def manifest_findings(media_type: str, platforms: Sequence[Mapping[str, Any]], where: str) -> list[Finding]:
    """A multi-platform index, or one carrying buildx attestations, is rejected
    by Lambda ("image manifest media type not supported")."""
    if media_type not in INDEX_MEDIA_TYPES:
        return []
    names = [f"{p.get('os', '?')}/{p.get('architecture', '?')}" for p in platforms]
    attestations = names.count("unknown/unknown")
    runnable = [n for n in names if n != "unknown/unknown"]
    if attestations:
        beside = ", ".join(runnable) or "no image"
        detail = f"an image index with {attestations} attestation manifest(s) (unknown/unknown) next to {beside}"
        rule = "attestation-manifest"
    else:
        detail = f"a multi-platform image index ({', '.join(runnable)})"
        rule = "multi-platform-index"
    return [Finding(CHECK, rule, where, f"{detail}. {_FIX_INDEX}", path="manifest")]


def size_findings(size: int) -> list[Finding]:
    if size <= MAX_IMAGE_BYTES:
        return []
    return [
        Finding(
            CHECK,
            "image-too-large",
            "image",
            f"{size / 1024**3:.2f} GiB uncompressed; Lambda's limit is 10 GB: drop build tools and caches "
            "(multi-stage build), or move data to S3/EFS",
            path="image",
        )
    ]


def env_size(env: Iterable[str]) -> int:
    """Bytes as Lambda counts them, of an image config's `KEY=value` list."""
    return env_bytes((key, value) for key, _, value in (item.partition("=") for item in env))


def env_findings(env: Iterable[str]) -> list[Finding]:
    size = env_size(env)
    if size <= MAX_ENV_BYTES:
        return []
    return [
        Finding(
            CHECK,
            "environment-too-large",
            "image config Env",
            f"{size} bytes of environment variables; Lambda caps a function's variables at 4 KB, and the image's "
            "ENV adds to what the process carries: move bulky settings to a file or to Parameter Store",
            severity="warning",
            path="config:Env",
        )
    ]


def entrypoint_findings(fs: ImageFilesystem, config: Mapping[str, Any], architecture: str = "") -> list[Finding]:
    """ENTRYPOINT (else CMD) must name a program Lambda's user can start: the
    same checks as an extension (permissions, #! line, CRLF, CPU, loader)."""
    entrypoint = list(config.get("Entrypoint") or [])
    cmd = list(config.get("Cmd") or [])
    if not entrypoint and not cmd:
        return [
            Finding(
                CHECK,
                "no-entrypoint",
                "image config",
                "neither ENTRYPOINT nor CMD is set, so Lambda has nothing to start: set ENTRYPOINT to the runtime "
                "(e.g. /lambda-entrypoint.sh) and CMD to the handler",
                path="config:Entrypoint",
            )
        ]
    program = (entrypoint or cmd)[0]
    field = "ENTRYPOINT" if entrypoint else "CMD"
    env = env_dict(config.get("Env"))
    if "/" not in program:
        found = find_on_path(fs, program, env)
        if found is None:
            return [_entry_finding(field, f"{program} is not on the image's PATH", program)]
        program = found
    elif not program.startswith("/"):
        program = posixpath.join(config.get("WorkingDir") or "/", program)
    # Parents resolved as the kernel does: /bin is a symlink to usr/bin on
    # merged-/usr images (Debian, Ubuntu, Amazon Linux 2023).
    entry = fs.resolve(program, follow=False)
    if entry is None or fs.resolve(program) is None:
        return [_entry_finding(field, f"{program} does not exist in the image", program)]
    checker = ExecutableChecker(fs, architecture, env)
    checker.check(entry, program)  # permissions on the directories walked from the path as written
    return [
        Finding(CHECK, f"entrypoint-{f.rule}", f"{field} {program}", f.message, f.severity, path=f"config:{field}")
        for f in checker.findings
    ]


def _entry_finding(field: str, message: str, program: str) -> Finding:
    return Finding(CHECK, "entrypoint-not-runnable", f"{field} {program}", message, path=f"config:{field}")


def readability_findings(fs: ImageFilesystem, roots: Iterable[str]) -> list[Finding]:
    """Files and directories under each root that Lambda's user cannot read
    (or enter), grouped per root so one chmod mistake is one finding."""
    findings = []
    for root in roots:
        top = fs.resolve(root)
        if top is None or not top.is_dir:
            continue
        problem = access_problem(fs, root, READ | EXECUTE)
        blocked = [f"{root} ({problem})"] if problem else []
        if not problem:
            for entry in fs.walk(top.path):
                if entry.is_symlink:
                    continue
                bits = READ | EXECUTE if entry.is_dir else READ
                if not LAMBDA_USER.may(entry, bits):
                    blocked.append(f"{entry.path} ({entry.describe()})")
        if blocked:
            shown = ", ".join(blocked[:_SHOWN]) + (
                f" and {len(blocked) - _SHOWN} more" if len(blocked) > _SHOWN else ""
            )
            findings.append(
                Finding(
                    CHECK,
                    "unreadable-by-lambda",
                    root,
                    f"{len(blocked)} path(s) the function may need cannot be read by uid 993 (Lambda's user): "
                    f"{shown}; fix with `chmod -R o+rX {root}` in the Dockerfile",
                    severity="warning",
                    path=root,
                )
            )
    return findings


def function_roots(config: Mapping[str, Any]) -> list[str]:
    """Where a function's code, runtime and layers live."""
    env = env_dict(config.get("Env"))
    roots = [env.get("LAMBDA_TASK_ROOT") or config.get("WorkingDir") or "/var/task", "/opt"]
    if env.get("LAMBDA_RUNTIME_DIR"):
        roots.append(env["LAMBDA_RUNTIME_DIR"])
    return list(dict.fromkeys(root for root in roots if root and root != "/"))
