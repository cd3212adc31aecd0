"""pytest-lambda-image: test AWS Lambda container images locally under the RIE.

The names below load on first use: the plugin is imported by every pytest run
in a repository that has it installed, and most of it (the docker SDK,
testcontainers, jsonschema) only matters once a test asks for a function.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._lazy import lazy_names

_WHERE = {
    "AsyncInvocation": "async_invoke",
    "invoke_async": "async_invoke",
    "EventInvokeConfig": "async_invoke",
    "LambdaDestination": "async_invoke",
    "configure_async": "async_invoke",
    "Allow": "audit",
    "AuditFailure": "audit",
    "AuditReport": "audit",
    "ImageAudit": "audit",
    "AwsBackend": "aws",
    "BatchResult": "aws",
    "batch_result": "aws",
    "build_image": "build",
    "image_from_zip": "build.zip_image",
    "DockerEngine": "_runtime.engine",
    "ConfigError": "errors",
    "DockerUnavailableError": "errors",
    "FunctionError": "errors",
    "FunctionStartError": "errors",
    "ImageBuildError": "errors",
    "ImageNotFoundError": "errors",
    "InvokeError": "errors",
    "LambdaImageError": "errors",
    "RequestEntityTooLarge": "errors",
    "InvalidRequestContent": "errors",
    "RieNotFoundError": "errors",
    "LambdaFunction": "_runtime.function",
    "LambdaImage": "_runtime.image",
    "get_image": "_runtime.image",
    "pull_image": "_runtime.image",
    "Invocation": "_runtime.invocation",
    "Outcome": "_runtime.invocation",
    "Report": "_runtime.invocation",
    "BuildSpec": "build.spec",
    "FunctionConfig": "_runtime.settings",
    "LambdaTemplate": "template",
    "LocalApiGateway": "gateway",
    "StartAddition": "_runtime.additions",
    "AdditionProvider": "_runtime.additions",
    "flush_removals": "_runtime.cleanup",
    # The fixtures' types, for annotations in tests.
    "PluginSettings": "_plugin.plans",
    "FunctionFactory": "_plugin.factories",
    "ImageFactory": "_plugin.build",
    "GatewayFactory": "_plugin.gateway",
    "AuditFactory": "_plugin.audit",
}

if TYPE_CHECKING:
    from ._plugin.audit import AuditFactory
    from ._plugin.build import ImageFactory
    from ._plugin.factories import FunctionFactory
    from ._plugin.gateway import GatewayFactory
    from ._plugin.plans import PluginSettings
    from ._runtime.additions import AdditionProvider, StartAddition
    from ._runtime.cleanup import flush_removals
    from ._runtime.engine import DockerEngine
    from ._runtime.function import LambdaFunction
    from ._runtime.image import LambdaImage, get_image, pull_image
    from ._runtime.invocation import Invocation, Outcome, Report
    from ._runtime.settings import FunctionConfig
    from .async_invoke import AsyncInvocation, EventInvokeConfig, LambdaDestination, configure_async, invoke_async
    from .audit import Allow, AuditFailure, AuditReport, ImageAudit
    from .aws import AwsBackend, BatchResult, batch_result
    from .build import build_image
    from .build.spec import BuildSpec
    from .build.zip_image import image_from_zip
    from .errors import (
        ConfigError,
        DockerUnavailableError,
        FunctionError,
        FunctionStartError,
        ImageBuildError,
        ImageNotFoundError,
        InvalidRequestContent,
        InvokeError,
        LambdaImageError,
        RequestEntityTooLarge,
        RieNotFoundError,
    )
    from .gateway import LocalApiGateway
    from .template import LambdaTemplate


__getattr__, __dir__ = lazy_names(__name__, _WHERE, globals())

__all__ = [
    "AdditionProvider",
    "Allow",
    "AsyncInvocation",
    "AuditFactory",
    "AuditFailure",
    "AuditReport",
    "ImageAudit",
    "AwsBackend",
    "BatchResult",
    "BuildSpec",
    "ConfigError",
    "DockerEngine",
    "DockerUnavailableError",
    "EventInvokeConfig",
    "FunctionConfig",
    "FunctionError",
    "FunctionFactory",
    "FunctionStartError",
    "GatewayFactory",
    "ImageBuildError",
    "ImageFactory",
    "ImageNotFoundError",
    "Invocation",
    "InvokeError",
    "LambdaDestination",
    "LambdaFunction",
    "LambdaImage",
    "LambdaImageError",
    "LambdaTemplate",
    "LocalApiGateway",
    "Outcome",
    "PluginSettings",
    "Report",
    "RequestEntityTooLarge",
    "InvalidRequestContent",
    "RieNotFoundError",
    "StartAddition",
    "batch_result",
    "build_image",
    "configure_async",
    "flush_removals",
    "get_image",
    "image_from_zip",
    "invoke_async",
    "pull_image",
]
