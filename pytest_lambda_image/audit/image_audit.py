"""ImageAudit: every static audit of one image, as reports and as assertions."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from .._runtime.engine import DockerEngine, docker_errors
from .._runtime.image import LambdaImage, env_dict
from ..errors import ConfigError, ImageNotFoundError
from .archive import ImageArchive
from .credentials import MAX_FILE_BYTES, CredentialScan, report_credentials, scan_credentials
from .extensions import Extension, audit_extensions
from .filesystem import ImageFilesystem
from .findings import Allow, AuditReport, Finding, coerce_allowlist
from .layout import LayerLayout, audit_layers, read_layout
from .limits import (
    CHECK as LIMITS,
)
from .limits import (
    entrypoint_findings,
    env_findings,
    function_roots,
    manifest_findings,
    platform_findings,
    readability_findings,
    size_findings,
)
from .registration import check_registration
from .storage import SOURCE_ENV, LocalImage, find_stored
from .stream import StreamedImage

if TYPE_CHECKING:
    from .._runtime.function import LambdaFunction

LayerExpectation = Union[bool, Iterable[str], None]


class ImageAudit:
    """Reads an image once (`docker save`, as a stream) and audits it without running it.

    >>> audit = ImageAudit.of(engine, "my-function:latest")
    >>> audit.assert_no_credentials()
    """

    def __init__(
        self,
        archive: ImageArchive | StreamedImage | LocalImage,
        name: str,
        *,
        size: int | None = None,
        descriptor: Mapping[str, Any] | None = None,
        allow: Iterable[Allow | str] = (),
        engine: DockerEngine | None = None,
    ) -> None:
        self.archive = archive
        self.engine = engine
        self.name = name
        self._size = size
        self._descriptor = descriptor or {}
        self.allow = coerce_allowlist(allow)
        self._scans: dict[int, CredentialScan] = {}  # by max_file_bytes; shared with with_allow() copies
        self._shared = False  # handed out by the lambda_audit fixture, or a with_allow() copy: not ours to close

    @classmethod
    def of(cls, engine: DockerEngine, image: LambdaImage | str, *, allow: Iterable[Allow | str] = ()) -> ImageAudit:
        """Audit an image on the engine (by LambdaImage, tag or id)."""
        ref = image.ref if isinstance(image, LambdaImage) else image
        allow = coerce_allowlist(allow)  # before the save: a bad entry must not leave an archive behind
        with docker_errors(f"looking up image {ref} for the audit"):
            try:
                found = engine.client.images.get(image.id if isinstance(image, LambdaImage) else image)
            except Exception as exc:  # docker.errors.ImageNotFound, reported in plain words
                if type(exc).__name__ == "ImageNotFound":
                    raise ImageNotFoundError(f"image {ref} is not on the engine: build or pull it first") from None
                raise
        archive = _read(engine, found.id, ref)
        try:
            return cls(
                archive,
                ref,
                size=found.attrs.get("Size"),
                descriptor=found.attrs.get("Descriptor"),
                allow=allow,
                engine=engine,
            )
        except BaseException:
            archive.close()
            raise

    @classmethod
    def from_archive(cls, path: str | Path, *, allow: Iterable[Allow | str] = ()) -> ImageAudit:
        """Audit a `docker save` tarball or an OCI layout tar, no engine needed."""
        allow = coerce_allowlist(allow)
        return cls(ImageArchive(Path(path)), str(path), allow=allow)

    def with_allow(self, allow: Iterable[Allow | str]) -> ImageAudit:
        """The same image read (and credential scan), shared rather than done
        again, with more allowlist entries. The original owns the archive."""
        other = ImageAudit(
            self.archive,
            self.name,
            size=self._size,
            descriptor=self._descriptor,
            allow=[*self.allow, *coerce_allowlist(allow)],
            engine=self.engine,
        )
        other._scans = self._scans
        other._shared = True
        return other

    def close(self) -> None:
        if not self._shared:
            self.archive.close()

    def __enter__(self) -> ImageAudit:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- what the audits read -----------------------------------------------

    @property
    def filesystem(self) -> ImageFilesystem:
        return self.archive.filesystem

    @property
    def config(self) -> Mapping[str, Any]:
        """The runtime config: Env, Entrypoint, Cmd, User, Labels, WorkingDir."""
        return self.archive.image_config

    @property
    def env(self) -> dict[str, str]:
        return env_dict(self.config.get("Env"))

    @property
    def architecture(self) -> str:
        return self.archive.architecture

    @property
    def size(self) -> int:
        """Uncompressed bytes, as the engine reports them (or as the layers add up)."""
        if self._size is None:
            self._size = sum(entry.size for entry, _ in self.filesystem.versions() if entry.is_file)
        return self._size

    # -- reports ------------------------------------------------------------

    def extensions(self, expected: Iterable[str] | None = None) -> AuditReport:
        report, _ = audit_extensions(
            self.name, self.filesystem, architecture=self.architecture, env=self.env, expected=expected
        )
        return report

    def extension_list(self) -> list[Extension]:
        """What is in /opt/extensions and what each entry turned out to be."""
        _, found = audit_extensions(self.name, self.filesystem, architecture=self.architecture, env=self.env)
        return found

    def credentials(
        self, allow: Iterable[Allow | str] | None = None, max_file_bytes: int = MAX_FILE_BYTES
    ) -> AuditReport:
        """Secrets in history, config and every layer (deleted files too). The
        scan reads every file, so it runs once; allowlists only filter it."""
        if max_file_bytes not in self._scans:
            if isinstance(self.archive, (StreamedImage, LocalImage)):
                self._scans[max_file_bytes] = self.archive.credential_scan(max_file_bytes)
            else:
                self._scans[max_file_bytes] = scan_credentials(self.archive.config, self.filesystem, max_file_bytes)
        entries = [*self.allow, *coerce_allowlist(allow)]
        return report_credentials(self.name, self._scans[max_file_bytes], entries, max_file_bytes)

    def layout(self) -> LayerLayout:
        return read_layout(self.filesystem)

    def layers(self, **expect: LayerExpectation) -> AuditReport:
        """Layer content under /opt; `python=True`, `nodejs=["lodash"]`, ...
        add expectations (runtimes: python, nodejs, java, ruby, bin, lib)."""
        return audit_layers(self.name, self.layout(), expect=dict(expect))

    def limits(self, pushed: str | None = None) -> AuditReport:
        """Lambda's limits. `pushed`: a reference in a registry the engine can
        reach (e.g. the ECR tag after `docker push`), whose manifest is checked
        too, since buildx pushes attestation indexes Lambda rejects."""
        findings = [
            *platform_findings(self.archive.os, self.architecture, self.archive.config.get("variant") or ""),
            *manifest_findings(
                self._descriptor.get("mediaType") or self.archive.index_media_type,
                self.archive.index_platforms,
                "image index",
            ),
            *size_findings(self.size),
            *entrypoint_findings(self.filesystem, self.config, self.architecture),
            *env_findings(self.config.get("Env") or []),
            *readability_findings(self.filesystem, function_roots(self.config)),
        ]
        if pushed is not None:
            findings += self._registry_findings(pushed)
        platform = f"{self.archive.os}/{self.architecture}"
        return AuditReport(LIMITS, self.name, findings, checked=f"{platform}, {self.size / 1024**2:,.0f} MiB")

    def _registry_findings(self, ref: str) -> list[Finding]:
        if self.engine is None:
            raise ValueError("checking a pushed manifest needs an engine: use ImageAudit.of(engine, ...)")
        with docker_errors(f"reading the manifest of {ref} from its registry"):
            found = self.engine.client.api.inspect_distribution(ref)
        descriptor = found.get("Descriptor") or {}
        return manifest_findings(descriptor.get("mediaType", ""), found.get("Platforms") or [], f"registry {ref}")

    def registration(
        self, function: LambdaFunction, expected: Iterable[str] | None = None, event: Any = None
    ) -> AuditReport:
        """Invoke `function` (started from this image) once and confirm each
        extension registered under its file name and is still running."""
        return check_registration(function, [*self.extension_names(), *(expected or ())], event)

    def extension_names(self) -> list[str]:
        """The entries of /opt/extensions the RIE would start (not directories)."""
        return [ext.name for ext in self.extension_list() if ext.format != "directory"]

    def reports(self) -> list[AuditReport]:
        """The built-in audit, as the CI gate runs it."""
        return [self.extensions(), self.credentials(), self.layers(), self.limits()]

    # -- assertions -----------------------------------------------------------

    def assert_extensions_executable(self, expected: Iterable[str] | None = None, *, strict: bool = False) -> None:
        """Every entry of /opt/extensions can be started by Lambda's user
        (with `expected`, those names must be there; `strict`: warnings such
        as directories fail too)."""
        __tracebackhide__ = True
        self.extensions(expected).raise_for_findings(strict)

    def assert_no_credentials(self, allow: Iterable[Allow | str] | None = None) -> None:
        """No secret in history, config or any layer, deleted files included."""
        __tracebackhide__ = True
        self.credentials(allow).raise_for_findings()

    def assert_layers(self, *, strict: bool = False, **expect: LayerExpectation) -> None:
        """e.g. `assert_layers(python=True)` or `assert_layers(python=["requests"], nodejs=False)`."""
        __tracebackhide__ = True
        self.layers(**expect).raise_for_findings(strict)

    def assert_extensions_register(
        self, function: LambdaFunction, expected: Iterable[str] | None = None, *, event: Any = None
    ) -> None:
        """Run-time check under the RIE: every extension registers with the
        Extensions API under its file name and is alive after an invoke."""
        __tracebackhide__ = True
        self.registration(function, expected, event).raise_for_findings()

    def assert_lambda_limits(self, *, pushed: str | None = None, strict: bool = False) -> None:
        """Platform, manifest, size, entrypoint, env size; `strict`:
        readability and env-size warnings fail too."""
        __tracebackhide__ = True
        self.limits(pushed).raise_for_findings(strict)


def _read(engine: DockerEngine, image_id: str, ref: str) -> StreamedImage | LocalImage:
    """The image's files from the engine's own storage when this machine can
    read it (no serializing, the fastest), else `docker save` read once as a
    stream; PYTEST_LAMBDA_AUDIT_SOURCE=save or storage insists on one."""
    source = os.environ.get(SOURCE_ENV, "auto").strip().lower() or "auto"
    if source not in ("auto", "storage", "save"):
        raise ConfigError(f"invalid {SOURCE_ENV} {source!r}: use auto, storage or save")
    stored = find_stored(engine, image_id) if source != "save" else None
    if stored is not None:
        return LocalImage(stored, ref)
    if source == "storage":
        raise ConfigError(
            f"{SOURCE_ENV}=storage, but image {ref}'s overlay2 storage is not readable here (a remote engine, "
            "Docker Desktop, another storage driver or not root): use auto or save"
        )
    return StreamedImage(engine, image_id, ref)  # read once as a stream, scanned on the way
