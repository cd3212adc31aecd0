"""pytest-lambda-image: test AWS Lambda container images locally under the RIE."""

from .audit import Allow, AuditFailure, AuditReport, ImageAudit
from .build import build_image
from .engine import DockerEngine
from .errors import (
    ConfigError,
    DockerUnavailableError,
    FunctionError,
    FunctionStartError,
    ImageBuildError,
    ImageNotFoundError,
    InvokeError,
    LambdaImageError,
    RequestEntityTooLarge,
    RieNotFoundError,
)
from .function import LambdaFunction
from .image import LambdaImage, get_image, pull_image
from .invocation import Invocation, Outcome, Report
from .settings import BuildSpec, FunctionConfig

__all__ = [
    "Allow",
    "AuditFailure",
    "AuditReport",
    "ImageAudit",
    "BuildSpec",
    "ConfigError",
    "DockerEngine",
    "DockerUnavailableError",
    "FunctionConfig",
    "FunctionError",
    "FunctionStartError",
    "ImageBuildError",
    "ImageNotFoundError",
    "Invocation",
    "InvokeError",
    "LambdaFunction",
    "LambdaImage",
    "LambdaImageError",
    "Outcome",
    "Report",
    "RequestEntityTooLarge",
    "RieNotFoundError",
    "build_image",
    "get_image",
    "pull_image",
]
