"""The template plugin (`lambda_template`): the function's image and
settings from a SAM / CloudFormation template. Its options, the marker's
`template_function=` (another function of the same template), and the
check of the image against the template's Architectures. Explicit settings
(ini, CLI, markers) win over the template's."""

from __future__ import annotations

import dataclasses
import functools
import os
import weakref
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import pytest

from ..errors import ConfigError
from . import option, session
from .option import Option
from .plans import FunctionDraft, PluginSettings, SettingsDraft, configured_image

if TYPE_CHECKING:
    from .._runtime.function import LambdaFunction
    from .._runtime.image import LambdaImage
    from ..build.spec import BuildSpec
    from ..template import TemplateFunction, TemplateSource

TEMPLATE = Option(
    "lambda_template",
    "SAM / CloudFormation template to read the function's image and settings from (relative to the ini file)",
    metavar="PATH",
)
FUNCTION = Option(
    "lambda_template_function",
    "the template's function to test (logical id)",
    metavar="LOGICAL_ID",
    default="its only function",
)
BUILD_ZIP = Option(
    "lambda_template_build_zip",
    "test the template's .zip functions as images built from their code and layers",
    metavar="true|false",
    default="false",
)
PARAMETERS = Option(
    "lambda_template_parameters",
    "values for the template: Parameter=VALUE, Resource=NAME, Resource.Attribute=VALUE or ExportName=VALUE",
    kind="linelist",
    flag="--lambda-template-parameter",
    metavar="NAME=VALUE",
)
OPTIONS = (TEMPLATE, FUNCTION, BUILD_ZIP, PARAMETERS)


def pytest_addoption(parser: pytest.Parser) -> None:
    option.add_options(parser, OPTIONS)


# The template function each started function is (a marker's or factory's template_function=).
_FROM_TEMPLATE: weakref.WeakKeyDictionary[LambdaFunction, str] = weakref.WeakKeyDictionary()
MARKER_KEYS = {"template_function": "another function of lambda_template (logical id): its image and settings"}


@pytest.hookimpl(optionalhook=True)  # the core plugin declares it; it may be switched off
def pytest_lambda_marker_keys() -> Mapping[str, str]:
    return MARKER_KEYS


@pytest.hookimpl(trylast=True, optionalhook=True)  # after the plugins that name an image explicitly (build)
def pytest_lambda_settings(config: pytest.Config, draft: SettingsDraft) -> None:
    source = _template(config, draft)
    if source is None:
        return
    template = source.template
    found = template.function(source.function_name)
    draft.function_from += f" and {template.path.name}'s function {source.function_name}"
    if not draft.image_explicit:  # any explicit image or Dockerfile wins
        draft.image = template_image(found, draft.extras.get("build", {}), template.path.name)
    draft.function = source.function_kwargs()
    draft.extras["template"] = source
    draft.image_checks.extend(_image_checks(source, draft.extras))


def _template(config: pytest.Config, draft: SettingsDraft) -> TemplateSource | None:
    """The template the options name, with the function they pick (or its only one)."""
    from .._runtime.settings import FunctionConfig, parse_bool, parse_key_values

    given = option.read(config, TEMPLATE)
    name = option.value(config, FUNCTION)
    if given is None:
        if name:
            raise ConfigError("lambda_template_function names a function, but no lambda_template is set")
        return None
    location = session.base_dir(config, given) / os.path.expanduser(str(given.value))
    values = parse_key_values(option.value(config, PARAMETERS), "lambda_template_parameters entry")
    from ..template import LambdaTemplate, TemplateSource

    region = str(draft.function.get("region") or FunctionConfig.region)
    build_zip = parse_bool(option.value(config, BUILD_ZIP, False), "lambda_template_build_zip")
    template = LambdaTemplate.load(location.resolve(), values, region=region, build_zip=build_zip)
    return TemplateSource(
        template,
        name or template.default_function_name(),
        explicit=dict(draft.function),
        image_explicit=draft.image_explicit,
    )


def template_image(
    found: TemplateFunction, extras: Mapping[str, Any], where: str = "the template"
) -> tuple[str | None, BuildSpec | None]:
    """The image a template function names, or the build its Metadata describes
    (explicit build args and platform over the template's); for a .zip
    function, the build of the context made from its code and layers."""
    from ..build.spec import BuildSpec

    if found.zip_source is not None:
        from .._runtime.cache import cache_dir

        context = found.zip_source.context(cache_dir("from-zip"))
        fields: dict[str, Any] = {"context": context, "platform": found.platform}
    elif found.build_fields is None:
        return found.image_uri, None
    else:
        from ..template.function import check_build

        check_build(found, where)
        fields = dict(found.build_fields)
    fields["build_args"] = {**dict(fields.get("build_args") or {}), **dict(extras.get("build_args") or {})}
    fields.update({key: value for key, value in extras.items() if key != "build_args" and value is not None})
    try:
        return None, BuildSpec(**fields)
    except ConfigError as exc:
        raise ConfigError(f"{exc} (from the template's function {found.logical_id})") from None


def for_template_function(settings: PluginSettings, name: str) -> PluginSettings:
    """The session's settings for another function of the same template: its
    image and settings, under the explicit (ini, CLI) ones."""
    from .._runtime.settings import FunctionConfig

    source: TemplateSource | None = settings.extras.get("template")
    if source is None:
        raise ConfigError(f"template_function={name!r} needs a template: set lambda_template (or --lambda-template)")
    if name == source.function_name:
        return settings
    try:
        function = FunctionConfig(**source.function_kwargs(name))
    except ConfigError as exc:
        raise ConfigError(f"{exc} (from {source.template.path.name}, function {name})") from None
    if source.image_explicit and source.same_image(name):
        image_ref, build = settings.image_ref, settings.build  # the named image serves every function built like it
    else:
        found = source.template.function(name)
        image_ref, build = template_image(found, settings.extras.get("build", {}), source.template.path.name)
    chosen = dataclasses.replace(source, function_name=name)
    return dataclasses.replace(
        settings,
        function=function,
        image_ref=image_ref,
        build=build,
        extras={**settings.extras, "template": chosen},
        image_checks=_image_checks(chosen, settings.extras),
    )


@pytest.hookimpl(tryfirst=True, optionalhook=True)  # the other plugins refine the chosen function's plan
def pytest_lambda_plan(config: pytest.Config, draft: FunctionDraft) -> None:
    name = draft.keys.get("template_function")
    if name is None:
        return
    if draft.ahead:
        from .hookspecs import NotReady

        raise NotReady("a template function's image may need a build")
    draft.settings = for_template_function(draft.settings, str(name))
    if draft.image is None:
        draft.image = configured_image(draft.settings, draft.engine)


@pytest.hookimpl(optionalhook=True)  # the core plugin declares it; it may be switched off
def pytest_lambda_function(config: pytest.Config, function: LambdaFunction, keys: Mapping[str, Any]) -> None:
    """A function from the template gets its EventInvokeConfig and dead-letter queue."""
    source: TemplateSource | None = session.resolve(config).extras.get("template")
    if source is None:
        return
    from . import template_async

    name = str(keys.get("template_function") or source.function_name)
    _FROM_TEMPLATE[function] = name
    template_async.attach(config, function, source.template, name)


@pytest.hookimpl(optionalhook=True)  # the core plugin declares it; it may be switched off
def pytest_lambda_gateway_front(config: pytest.Config, function: LambdaFunction) -> Mapping[str, Any] | None:
    """The API the template puts in front of the function: its own events'
    (a `template_function=` one's too), not the session function's."""
    source: TemplateSource | None = session.resolve(config).extras.get("template")
    if source is None:
        return None
    found = source.template.function(_FROM_TEMPLATE.get(function, source.function_name))
    return {"payload_format": found.gateway_format, "routes": found.gateway_routes, "stage": found.gateway_stage}


def pytest_unconfigure(config: pytest.Config) -> None:
    from . import template_async

    template_async.stop_destinations(config)


def _image_checks(source: TemplateSource, extras: Mapping[str, Any]) -> tuple[Callable[[LambdaImage], None], ...]:
    """The template's checks of an image (none when an explicit platform was given)."""
    if extras.get("build", {}).get("platform"):
        return ()
    return (functools.partial(_check_architecture, source),)


def _check_architecture(source: TemplateSource, image: LambdaImage) -> None:
    """The template's Architectures must match the image: Lambda refuses an
    arm64 image for an x86_64 function."""
    found = source.template.function(source.function_name)
    if found.platform and found.platform != f"linux/{image.architecture}":
        raise ConfigError(
            f"image {image.ref} is for linux/{image.architecture}, but {source.template.path.name}'s "
            f"function {found.logical_id} runs on {found.platform} (Architectures): Lambda would refuse it; "
            "build it for that platform or correct Architectures"
        )
