"""Image audits: read an image's layers without running it, then check its
extensions, layer layout, credentials and Lambda's limits."""

from .archive import ImageArchive
from .extensions import Extension
from .filesystem import FileEntry, ImageFilesystem, Layer, Removal
from .findings import Allow, AuditFailure, AuditReport, Finding
from .image_audit import ImageAudit
from .layout import LayerLayout, LayerPath
from .permissions import LAMBDA_GID, LAMBDA_UID

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
