"""Image audits: read an image's layers without running it, then check its
extensions, layer layout, credentials and Lambda's limits. Names load on
first use (the audit pulls in the docker SDK)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names

_WHERE = {
    "ImageArchive": "archive",
    "Extension": "extensions",
    "FileEntry": "filesystem",
    "ImageFilesystem": "filesystem",
    "Layer": "filesystem",
    "Removal": "filesystem",
    "Allow": "findings",
    "AuditFailure": "findings",
    "AuditReport": "findings",
    "Finding": "findings",
    "ImageAudit": "image_audit",
    "LayerLayout": "layout",
    "LayerPath": "layout",
    "LAMBDA_GID": "permissions",
    "LAMBDA_UID": "permissions",
}

if TYPE_CHECKING:
    from .archive import ImageArchive
    from .extensions import Extension
    from .filesystem import FileEntry, ImageFilesystem, Layer, Removal
    from .findings import Allow, AuditFailure, AuditReport, Finding
    from .image_audit import ImageAudit
    from .layout import LayerLayout, LayerPath
    from .permissions import LAMBDA_GID, LAMBDA_UID


__getattr__, __dir__ = lazy_names(__name__, _WHERE, globals())

__all__ = [
    "LAMBDA_GID",
    "LAMBDA_UID",
    "Allow",
    "AuditFailure",
    "AuditReport",
    "Extension",
    "FileEntry",
    "Finding",
    "ImageArchive",
    "ImageAudit",
    "ImageFilesystem",
    "Layer",
    "LayerLayout",
    "LayerPath",
    "Removal",
]
