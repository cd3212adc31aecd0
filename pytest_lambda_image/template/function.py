"""One function of a SAM or CloudFormation template, read into the plugin's
settings: how its image is built (or which image it is) and how it runs."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._runtime.settings import parse_argv
from ..errors import ConfigError
from .intrinsics import NO_VALUE, Resolver, Unresolved
from .zip_function import ZipSource, read_zip_source

SERVERLESS = "AWS::Serverless::Function"
CLOUDFORMATION = "AWS::Lambda::Function"
FUNCTION_TYPES = (SERVERLESS, CLOUDFORMATION)
_PLATFORMS = {"x86_64": "linux/amd64", "arm64": "linux/arm64"}


@dataclass(frozen=True)
class TemplateFunction:
    """What a template says about one image function. `function_fields` are
    FunctionConfig keyword arguments; the image comes from `image_uri` or,
    when the template says how to build it (SAM's Metadata), `build_fields`."""

    logical_id: str
    image_uri: str | None = None
    build_fields: Mapping[str, Any] | None = None  # BuildSpec keyword arguments
    platform: str | None = None
    function_fields: Mapping[str, Any] = field(default_factory=dict)
    # Environment variables whose value only a deployed stack knows: name -> Unresolved.
    unresolved_env: Mapping[str, Unresolved] = field(default_factory=dict)
    # A .zip function (with lambda_template_build_zip): its code and layers, built into an image.
    zip_source: ZipSource | None = None
    # The API in front of it, from SAM's Events (Api: REST, 1.0; HttpApi: 2.0) or a FunctionUrlConfig.
    gateway_format: str | None = None
    gateway_routes: tuple[str, ...] = ()
    gateway_stage: str | None = None  # the stage of the API of the first kind found


def function_resources(template: Mapping[str, Any], resolver: Resolver | None = None) -> dict[str, Mapping[str, Any]]:
    """The template's functions; with a resolver, only those whose Condition holds."""
    return {
        name: resource
        for name, resource in (template.get("Resources") or {}).items()
        if isinstance(resource, dict)
        and resource.get("Type") in FUNCTION_TYPES
        and (resolver is None or "Condition" not in resource or resolver.condition(str(resource["Condition"])))
    }


def package_type(resource: Mapping[str, Any], resolver: Resolver) -> str:
    properties = resource.get("Properties") or {}
    declared = properties.get("PackageType")
    if declared is not None:
        return resolver.text(declared)
    code = properties.get("Code") if resource.get("Type") == CLOUDFORMATION else None
    if properties.get("ImageUri") or (isinstance(code, dict) and "ImageUri" in code):
        return "Image"
    return "Zip"


def merged_properties(template: Mapping[str, Any], resource: Mapping[str, Any]) -> dict[str, Any]:
    """The resource's properties with SAM's Globals.Function under them:
    maps merge (the function's keys win), lists add up (globals first), any
    other value of the function's replaces the global one. Globals apply to
    AWS::Serverless::Function only."""
    properties = copy.deepcopy(dict(resource.get("Properties") or {}))
    if resource.get("Type") != SERVERLESS:
        return properties
    globals_ = ((template.get("Globals") or {}).get("Function")) or {}
    return _merge(copy.deepcopy(globals_), properties)


def _merge(base: Any, override: Any) -> Any:
    intrinsic = (isinstance(base, dict) and _is_intrinsic(base)) or (
        isinstance(override, dict) and _is_intrinsic(override)
    )
    if isinstance(base, dict) and isinstance(override, dict) and not intrinsic:  # an intrinsic on either side: no merge
        merged = dict(base)
        for key, value in override.items():
            merged[key] = _merge(base[key], value) if key in base else value
        return merged
    if isinstance(base, list) and isinstance(override, list):
        return base + override
    return override


def _is_intrinsic(value: Mapping[str, Any]) -> bool:
    return len(value) == 1 and next(iter(value)).startswith(("Fn::", "Ref"))


def _is_intrinsic_value(value: Any) -> bool:
    return isinstance(value, dict) and _is_intrinsic(value)


def read_function(
    template: Mapping[str, Any],
    logical_id: str,
    resolver: Resolver,
    template_dir: Path,
    where: str,
    build_zip: bool = False,
) -> TemplateFunction:
    """The image function `logical_id`, its values resolved (a .zip function
    too when `build_zip`). `where` names the template in messages."""
    resource = function_resources(template, resolver)[logical_id]
    what = f"{where}: function {logical_id}"
    kind = package_type(resource, resolver)
    properties = merged_properties(template, resource)
    zip_source = None
    if kind != "Image":
        if not build_zip:
            raise ConfigError(
                f"{what} is a {kind} function (PackageType {kind}); the plugin tests container images: name an "
                "Image function, set lambda_template_build_zip = true to test it as an image built from its "
                "code and layers, or build one yourself (python -m pytest_lambda_image from-zip)"
            )
        zip_source = read_zip_source(template, logical_id, properties, resolver, template_dir, what)
    props = _Properties(properties, resolver, what)
    env, unresolved = _environment(properties, resolver)
    fields = _function_fields(props, env)
    platform = _platform(props.value("Architectures"), what)
    image_uri = _image_uri(props, resource)
    build_fields = _build_fields(resource, resolver, template_dir, what, platform)
    if build_fields is None and not image_uri and zip_source is None:
        raise ConfigError(
            f"{what} says neither how to build its image (Metadata: DockerContext, Dockerfile) nor which "
            "image it is (ImageUri): add one, or set lambda_image / lambda_dockerfile"
        )
    gateway_format, routes, stage = _api_events(template, properties, resolver)
    return TemplateFunction(
        logical_id,
        gateway_format=gateway_format,
        gateway_routes=routes,
        gateway_stage=stage,
        zip_source=zip_source,
        image_uri=str(image_uri) if image_uri and build_fields is None else None,
        build_fields=build_fields,
        platform=platform,
        function_fields=fields,
        unresolved_env=unresolved,
    )


@dataclass(frozen=True)
class _Properties:
    """A function's properties, each resolved when it is read."""

    raw: Mapping[str, Any]
    resolver: Resolver
    what: str  # the function, for messages

    def value(self, name: str) -> Any:
        """None when the property is absent or AWS::NoValue. A value only a
        deployed stack knows is a ConfigError saying how to give it."""
        if name not in self.raw:
            return None
        try:
            resolved = self.resolver.resolve(self.raw[name])
        except Unresolved as exc:
            raise ConfigError(f"{self.what}: {name} is {exc}: {_how_to_give(exc)}") from None
        return None if resolved is NO_VALUE else resolved


def _function_fields(props: _Properties, env: dict[str, str]) -> dict[str, Any]:
    """FunctionConfig keyword arguments: how the function runs."""
    fields: dict[str, Any] = {}
    if env:
        fields["env"] = env
    for name, key in (("MemorySize", "memory_size"), ("Timeout", "timeout"), ("FunctionName", "function_name")):
        if props.value(name) is not None:
            fields[key] = props.value(name)
    storage = props.value("EphemeralStorage")
    if isinstance(storage, dict) and storage.get("Size") is not None:
        fields["ephemeral_storage"] = storage["Size"]
    fields.update(_image_config_fields(props.value("ImageConfig") or {}, props.what))
    fields.update(_logging_fields(props.value("LoggingConfig") or {}))
    return fields


def _image_config_fields(image_config: Any, what: str) -> dict[str, Any]:
    """What the function's ImageConfig overrides of the image's CMD, ENTRYPOINT and WORKDIR."""
    if not isinstance(image_config, dict):
        raise ConfigError(f"{what}: ImageConfig must be a mapping of Command, EntryPoint and WorkingDirectory")
    fields: dict[str, Any] = {}
    for name, key in (("Command", "command"), ("EntryPoint", "entrypoint")):
        if image_config.get(name) is not None:
            fields[key] = parse_argv(image_config[name], f"{what}: ImageConfig.{name}")
    if image_config.get("WorkingDirectory"):
        fields["working_dir"] = str(image_config["WorkingDirectory"])
    return fields


def _logging_fields(logging: Any) -> dict[str, Any]:
    """LoggingConfig's format and application log level (a LoggingConfig that is no mapping says nothing)."""
    fields: dict[str, Any] = {}
    if isinstance(logging, dict):
        if logging.get("LogFormat"):
            fields["log_format"] = logging["LogFormat"]
        if logging.get("ApplicationLogLevel"):
            fields["log_level"] = logging["ApplicationLogLevel"]
    return fields


def _platform(architectures: Any, what: str) -> str | None:
    """The platform Architectures names; None when the template names none."""
    if architectures is None:
        return None
    arches = architectures if isinstance(architectures, list) else [architectures]
    if len(set(arches)) != 1 or arches[0] not in _PLATFORMS:
        raise ConfigError(f"{what}: Architectures {arches} must name one of x86_64 or arm64")
    return _PLATFORMS[arches[0]]


def _image_uri(props: _Properties, resource: Mapping[str, Any]) -> Any:
    """SAM's ImageUri, or CloudFormation's Code.ImageUri."""
    image_uri = props.value("ImageUri")
    if image_uri is None and resource.get("Type") == CLOUDFORMATION:
        code = props.value("Code")
        image_uri = code.get("ImageUri") if isinstance(code, dict) else None
    return image_uri


def _environment(properties: Mapping[str, Any], resolver: Resolver) -> tuple[dict[str, str], dict[str, Unresolved]]:
    """Each variable on its own, so one unresolvable value names itself and
    the others are still read (an explicit lambda_env entry may replace it)."""
    environment = properties.get("Environment") or {}
    if _is_intrinsic_value(environment):  # e.g. Environment: !If [IsProd, {...}, {...}]
        environment = resolver.resolve(environment)
    variables = environment.get("Variables") if isinstance(environment, dict) else None
    if _is_intrinsic_value(variables):
        variables = resolver.resolve(variables)
    if not isinstance(variables, dict):
        variables = {}
    env: dict[str, str] = {}
    unresolved: dict[str, Unresolved] = {}
    for name, raw in variables.items():
        try:
            resolved = resolver.resolve(raw)
        except Unresolved as exc:
            unresolved[str(name)] = exc
            continue
        if resolved is NO_VALUE:
            continue
        if isinstance(resolved, (dict, list)):
            raise ConfigError(f"environment variable {name} in the template is not a single value: {resolved!r}")
        env[str(name)] = str(resolved).lower() if isinstance(resolved, bool) else str(resolved)
    return env, unresolved


def _api_events(
    template: Mapping[str, Any], properties: Mapping[str, Any], resolver: Resolver
) -> tuple[str | None, tuple[str, ...], str | None]:
    """Routes of the function's API events, and the payload format and stage
    of the first kind found (an Api event is a REST API: 1.0; HttpApi: 2.0
    unless its PayloadFormatVersion says 1.0)."""
    events = properties.get("Events") or {}
    payload_format: str | None = None
    stage: str | None = None
    routes: list[str] = []
    for event in events.values() if isinstance(events, dict) else ():
        kind = event.get("Type") if isinstance(event, dict) else None
        if kind not in ("Api", "HttpApi"):
            continue
        raw = event.get("Properties") or {}
        try:  # not RestApiId / ApiId: an API of the template is a Ref only its stack resolves
            spec = {key: resolver.resolve(raw[key]) for key in ("Path", "Method", "PayloadFormatVersion") if key in raw}
        except Unresolved:
            continue  # a route the stack alone knows: leave it to lambda_gateway_routes
        path, method = spec.get("Path"), str(spec.get("Method") or "ANY").upper()
        if kind == "HttpApi":
            found = "1.0" if str(spec.get("PayloadFormatVersion")) == "1.0" else "2.0"
            if not path:  # an HttpApi event without a path is the API's $default route
                routes.append("$default")
        else:
            found = "1.0"
        if payload_format is None:
            payload_format = found
            stage = _stage(template, raw, kind, resolver)
        if path:
            routes.append(f"{'ANY' if method == 'ANY' else method} {path}")
    if payload_format is None and properties.get("FunctionUrlConfig"):
        payload_format = "url"
    return payload_format, tuple(routes), stage


# SAM's implicit APIs: ServerlessRestApi's stage is Prod, ServerlessHttpApi's $default.
_IMPLICIT_STAGES = {"Api": "Prod", "HttpApi": "$default"}


def _stage(template: Mapping[str, Any], event: Mapping[str, Any], kind: str, resolver: Resolver) -> str | None:
    """The stage of the API an event belongs to: its StageName when the
    event names an API of the template, else the implicit API's."""
    api = event.get("RestApiId" if kind == "Api" else "ApiId")
    if api is None:
        return _IMPLICIT_STAGES[kind]
    name = api.get("Ref") if isinstance(api, dict) else None
    resource = (template.get("Resources") or {}).get(name) if isinstance(name, str) else None
    if not isinstance(resource, dict):
        return None  # an API of another stack: the gateway's own default
    given = (resource.get("Properties") or {}).get("StageName")
    if given is None:
        return "$default" if kind == "HttpApi" else None
    try:
        return resolver.text(given)
    except Unresolved:
        return None


def check_build(found: TemplateFunction, where: str) -> None:
    """The build the template describes can be sent: its context and Dockerfile exist."""
    fields = found.build_fields or {}
    what = f"{where}: function {found.logical_id}"
    if "context" in fields and not Path(fields["context"]).is_dir():
        raise ConfigError(f"{what}: DockerContext {fields['context']} is not a directory")
    if "dockerfile" in fields and not Path(fields["dockerfile"]).is_file():
        raise ConfigError(
            f"{what}: Dockerfile {fields['dockerfile']} does not exist "
            "(Metadata.Dockerfile is relative to DockerContext)"
        )


def _build_fields(
    resource: Mapping[str, Any], resolver: Resolver, template_dir: Path, what: str, platform: str | None
) -> dict[str, Any] | None:
    metadata = resource.get("Metadata") or {}
    if not isinstance(metadata, dict) or not ({"DockerContext", "Dockerfile"} & set(metadata)):
        return None
    try:
        metadata = resolver.resolve(metadata)
    except Unresolved as exc:
        raise ConfigError(f"{what}: its Metadata uses {exc}: {_how_to_give(exc)}") from None
    # Not checked here: an explicit image (the CI gate's --lambda-image) needs no build.
    context = (template_dir / str(metadata.get("DockerContext") or ".")).resolve()
    dockerfile = context / str(metadata.get("Dockerfile") or "Dockerfile")
    args = metadata.get("DockerBuildArgs") or {}
    if not isinstance(args, dict):
        raise ConfigError(f"{what}: Metadata.DockerBuildArgs must be a mapping of build arguments")
    fields: dict[str, Any] = {"context": context, "dockerfile": dockerfile, "build_args": args}
    if metadata.get("DockerBuildTarget"):
        fields["target"] = str(metadata["DockerBuildTarget"])
    if platform:
        fields["platform"] = platform
    return fields


def _how_to_give(exc: Unresolved) -> str:
    if exc.key:
        return f"give it with lambda_template_parameters = {exc.key}=VALUE"
    return "replace it with a plain value, or give the setting in the ini options"
