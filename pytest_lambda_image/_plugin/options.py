"""Command-line and ini options, read into one `PluginSettings`.

Precedence: CLI > ini > environment (PYTEST_LAMBDA_IMAGE, PYTEST_LAMBDA_RIE) >
defaults; a `lambda_function` marker (applied in plugin.py) then changes the
function settings for its own test, over all of these.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import pytest

from .._runtime.settings import FunctionConfig, PullPolicy, parse_bool, parse_key_values
from ..build.spec import DEFAULT_KEEP_IMAGES, BuildSpec
from ..errors import ConfigError, LambdaImageError
from .once import once

if TYPE_CHECKING:  # templates (and PyYAML) load only for a session that names one
    from .._runtime.image import LambdaImage
    from ..template import TemplateFunction, TemplateSource

_PULL_POLICIES = ("missing", "always", "never")
DEFAULT_LOOKAHEAD = 2  # marked tests whose containers start ahead
MAX_LOOKAHEAD = 8

# name -> (ini help, ini type); each also has a CLI twin where listed in _CLI.
_INI: dict[str, tuple[str, Literal["string", "linelist"]]] = {
    "lambda_image": ("function image tag or digest to test (instead of building)", "string"),
    "lambda_dockerfile": ("Dockerfile to build the function image from (relative to the ini file)", "string"),
    "lambda_context": ("build context directory (default: the Dockerfile's directory)", "string"),
    "lambda_target": ("build target stage", "string"),
    "lambda_build_args": ("build arguments, one KEY=VALUE per line", "linelist"),
    "lambda_platform": ("build/run platform: linux/amd64 or linux/arm64", "string"),
    "lambda_pull": ("pull policy for --lambda-image: missing (default), always or never", "string"),
    "lambda_builder": ("auto (BuildKit via the docker CLI when there is one; default), buildkit or legacy", "string"),
    "lambda_docker_cli": ("the docker CLI for BuildKit builds (default: docker on PATH, /usr/bin/docker)", "string"),
    "lambda_build_secrets": ("build secrets, one per line: id=NAME,src=FILE or id=NAME,env=VAR", "linelist"),
    "lambda_build_ssh": ("SSH for the build, one per line: default (the agent) or ID=PATH", "linelist"),
    "lambda_keep_images": ("images kept per build; older ones the plugin built are removed (default 3)", "string"),
    "lambda_rie": ("path to the aws-lambda-rie binary (or a directory holding aws-lambda-rie-<arch>)", "string"),
    "lambda_env": ("function environment variables, one KEY=VALUE per line", "linelist"),
    "lambda_handler": ("handler override (replaces the image's CMD)", "string"),
    "lambda_timeout": ("function timeout in whole seconds (default 3)", "string"),
    "lambda_memory_size": ("function memory size in MB (default 128)", "string"),
    "lambda_function_name": ("function name (default: from the image name)", "string"),
    "lambda_region": ("AWS_REGION / AWS_DEFAULT_REGION inside the function (default us-east-1)", "string"),
    "lambda_fidelity": ("run functions like Lambda: user, read-only root, /tmp, memory (default true)", "string"),
    "lambda_user": ("uid:gid functions run as under fidelity (default 993:990, Lambda's)", "string"),
    "lambda_ephemeral_storage": ("size of /tmp in MB, 512-10240 (default 512)", "string"),
    "lambda_cpu_scaling": ("CPU quota in proportion to memory, as Lambda (1,769 MB = 1 vCPU; default false)", "string"),
    "lambda_log_format": ("AWS_LAMBDA_LOG_FORMAT: Text or JSON", "string"),
    "lambda_log_level": ("AWS_LAMBDA_LOG_LEVEL: TRACE, DEBUG, INFO, WARN, ERROR or FATAL", "string"),
    "lambda_debug": ("start functions ready for a debugger: auto, python or node [:host port], or off", "string"),
    "lambda_aws": (
        "give every function an AWS backend: moto (moto's server, started by the plugin) or the URL of an endpoint "
        "such as LocalStack's; unset: only tests that use the lambda_aws fixture get one",
        "string",
    ),
    "lambda_aws_isolation": ("test (default: moto is reset before each test that uses it) or session", "string"),
    "lambda_aws_server": (
        "where moto runs: auto (default: in this process when the Docker engine is local, else in a container), "
        "process or container",
        "string",
    ),
    "lambda_aws_image": ("moto's image for lambda_aws_server = container (default motoserver/moto:latest)", "string"),
    "lambda_lookahead": (
        "how many upcoming marked tests get their fresh container started ahead (default 2; 0 or false: none)",
        "string",
    ),
    "lambda_template": (
        "SAM / CloudFormation template to read the function's image and settings from (relative to the ini file)",
        "string",
    ),
    "lambda_template_function": ("the template's function to test (logical id; default: its only function)", "string"),
    "lambda_template_build_zip": (
        "test the template's .zip functions as images built from their code and layers (default false)",
        "string",
    ),
    "lambda_template_parameters": (
        "values for the template, one per line: Parameter=VALUE, Resource=NAME, Resource.Attribute=VALUE or "
        "ExportName=VALUE",
        "linelist",
    ),
    "lambda_gateway_format": ("lambda_gateway's front: 1.0 (REST, default), 2.0 (HTTP API), url or alb", "string"),
    "lambda_gateway_routes": ("lambda_gateway routes, one per line, e.g. 'GET /items/{id}' (default: all)", "linelist"),
    "lambda_gateway_alb_multi_value_headers": (
        "with lambda_gateway_format = alb: the target group's multi-value headers setting, true or false (default)",
        "string",
    ),
}


def add_options(parser: pytest.Parser) -> None:
    group = parser.getgroup("lambda-image", "AWS Lambda container images")
    group.addoption(
        "--lambda-image", metavar="TAG", help="test this pre-built image (tag or digest) instead of building"
    )
    group.addoption("--lambda-dockerfile", metavar="PATH", help="build the function image from this Dockerfile")
    group.addoption("--lambda-context", metavar="DIR", help="build context (default: the Dockerfile's directory)")
    group.addoption("--lambda-target", metavar="STAGE", help="build target stage")
    group.addoption(
        "--lambda-build-arg", metavar="KEY=VALUE", action="append", default=[], help="build argument (repeatable)"
    )
    group.addoption("--lambda-platform", metavar="PLATFORM", help="linux/amd64 or linux/arm64")
    group.addoption("--lambda-builder", choices=("auto", "buildkit", "legacy"), help="which builder builds the image")
    group.addoption("--lambda-docker-cli", metavar="PATH", help="the docker CLI for BuildKit builds")
    group.addoption(
        "--lambda-build-secret",
        metavar="id=NAME,src=FILE|env=VAR",
        action="append",
        default=[],
        help="a build secret, as docker build --secret takes it (repeatable)",
    )
    group.addoption(
        "--lambda-build-ssh", metavar="default|ID=PATH", action="append", default=[], help="SSH for the build"
    )
    group.addoption("--lambda-pull", choices=_PULL_POLICIES, help="when to pull --lambda-image (default: missing)")
    group.addoption("--lambda-rie", metavar="PATH", help="aws-lambda-rie binary for images that do not contain one")
    group.addoption(
        "--lambda-fidelity",
        metavar="true|false",
        help="run functions like Lambda (user 993, read-only root, sized /tmp, memory limit); false: plain docker run",
    )
    group.addoption("--lambda-template", metavar="PATH", help="SAM / CloudFormation template with the function")
    group.addoption("--lambda-template-function", metavar="LOGICAL_ID", help="the template's function to test")
    group.addoption(
        "--lambda-template-parameter",
        metavar="NAME=VALUE",
        action="append",
        default=[],
        help="a template parameter (or resource, Resource.Attribute, export) value (repeatable)",
    )
    group.addoption(
        "--lambda-debug",
        metavar="auto|python|node[:PORT]",
        nargs="?",
        const="auto",
        help="start functions ready for a debugger to attach (debugpy / Node's inspector), on PORT if given",
    )
    group.addoption(
        "--lambda-aws",
        metavar="moto|URL",
        help="give every function an AWS backend: moto, or the URL of an endpoint (LocalStack, ...)",
    )
    for name, (help_text, kind) in _INI.items():
        parser.addini(name, help_text, type=kind, default=[] if kind == "linelist" else None)


@dataclass(frozen=True)
class PluginSettings:
    image_ref: str | None = None
    build: BuildSpec | None = None
    pull: PullPolicy = "missing"
    function: FunctionConfig = field(default_factory=FunctionConfig)
    gateway_format: str = "1.0"
    gateway_routes: tuple[str, ...] = ()
    gateway_alb_multi_value_headers: bool = False
    aws: str | None = None  # "moto" or an endpoint URL: every function gets the backend
    aws_isolation: str = "test"
    aws_server: str = "auto"  # where moto runs: auto, process or container
    aws_image: str = "motoserver/moto:latest"
    lookahead: int = DEFAULT_LOOKAHEAD
    template: TemplateSource | None = None  # the settings' template, for another of its functions
    build_extras: Mapping[str, Any] = field(default_factory=dict)  # BuildSpec fields for template builds

    @property
    def configured(self) -> bool:
        return self.image_ref is not None or self.build is not None

    def for_template_function(self, name: str) -> PluginSettings:
        """These settings for another function of the same template: its image
        and settings, under the explicit (ini, CLI) ones."""
        if self.template is None:
            raise ConfigError(
                f"template_function={name!r} needs a template: set lambda_template (or --lambda-template)"
            )
        if name == self.template.function_name:
            return self
        try:
            function = FunctionConfig(**self.template.function_kwargs(name))
        except ConfigError as exc:
            raise ConfigError(f"{exc} (from {self.template.template.path.name}, function {name})") from None
        if self.template.image_explicit and self.template.same_image(name):
            image_ref, build = self.image_ref, self.build  # the named image serves every function built like it
        else:
            found = self.template.template.function(name)
            image_ref, build = template_image(found, self.build_extras, self.template.template.path.name)
        template = dataclasses.replace(self.template, function_name=name)
        return dataclasses.replace(self, function=function, image_ref=image_ref, build=build, template=template)

    def check_architecture(self, image: LambdaImage) -> None:
        """The template's Architectures must match the image: Lambda refuses
        an arm64 image for an x86_64 function (an explicit platform wins)."""
        if self.template is None or self.build_extras.get("platform"):
            return
        found = self.template.template.function(self.template.function_name)
        if found.platform and found.platform != f"linux/{image.architecture}":
            raise ConfigError(
                f"image {image.ref} is for linux/{image.architecture}, but {self.template.template.path.name}'s "
                f"function {found.logical_id} runs on {found.platform} (Architectures): Lambda would refuse it; "
                "build it for that platform or correct Architectures"
            )


def template_image(
    found: TemplateFunction, extras: Mapping[str, Any], where: str = "the template"
) -> tuple[str | None, BuildSpec | None]:
    """The image a template function names, or the build its Metadata describes
    (explicit build args and platform over the template's); for a .zip
    function, the build of the context made from its code and layers."""
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


_RESOLVED: pytest.StashKey[PluginSettings | LambdaImageError] = pytest.StashKey()


def resolve(config: pytest.Config) -> PluginSettings:
    """Read CLI, ini and environment once per session. Raises ConfigError
    with the option's name (the same one each time)."""
    return once(config.stash, _RESOLVED, lambda: _resolve(config))


def _resolve(config: pytest.Config) -> PluginSettings:
    base = config.inipath.parent if config.inipath else config.rootpath
    cwd = Path(config.invocation_params.dir)

    def ini(name: str) -> Any:
        try:
            value = config.getini(name)
        except (TypeError, ValueError) as exc:  # e.g. a TOML number where pytest wants a string
            raise ConfigError(f"invalid {name}: {exc}; write the value as a string") from None
        return value if value not in ("", None, []) else None

    def path(value: str, relative_to: Path) -> Path:
        return (relative_to / os.path.expanduser(value)).resolve()

    # The image source is one setting: the first level that names an image or
    # a Dockerfile wins, so `--lambda-image` overrides an ini Dockerfile.
    image_ref: str | None = None
    dockerfile: str | None = None
    dockerfile_base = base
    if config.getoption("lambda_image") and config.getoption("lambda_dockerfile"):
        raise ConfigError("pass either --lambda-image or --lambda-dockerfile, not both")
    if config.getoption("lambda_image"):
        image_ref = config.getoption("lambda_image")
    elif config.getoption("lambda_dockerfile"):
        dockerfile, dockerfile_base = config.getoption("lambda_dockerfile"), cwd
    elif ini("lambda_image") and ini("lambda_dockerfile"):
        raise ConfigError("set either lambda_image or lambda_dockerfile in the ini file, not both")
    elif ini("lambda_image"):
        image_ref = ini("lambda_image")
    elif ini("lambda_dockerfile"):
        dockerfile = ini("lambda_dockerfile")
    else:
        image_ref = os.environ.get("PYTEST_LAMBDA_IMAGE") or None

    build = None
    keep = ini("lambda_keep_images")
    # What every build of this session takes, a template's builds included.
    build_extras: dict[str, Any] = {
        "build_args": {
            **parse_key_values(ini("lambda_build_args"), "lambda_build_args entry"),
            **parse_key_values(config.getoption("lambda_build_arg"), "--lambda-build-arg value"),
        },
        "platform": config.getoption("lambda_platform") or ini("lambda_platform"),
        "secrets": (*(ini("lambda_build_secrets") or ()), *(config.getoption("lambda_build_secret") or ())),
        "ssh": (*(ini("lambda_build_ssh") or ()), *(config.getoption("lambda_build_ssh") or ())),
        "builder": config.getoption("lambda_builder") or ini("lambda_builder") or "auto",
        "docker_cli": config.getoption("lambda_docker_cli") or ini("lambda_docker_cli"),
        "keep": keep if keep is not None else DEFAULT_KEEP_IMAGES,
    }
    if dockerfile:
        dockerfile_path = path(dockerfile, dockerfile_base)
        # Context and target come with the Dockerfile: an ini context does not
        # apply to a Dockerfile given on the command line.
        from_cli = dockerfile_base is cwd
        if config.getoption("lambda_context"):
            context = path(config.getoption("lambda_context"), cwd)
        elif ini("lambda_context") and not from_cli:
            context = path(ini("lambda_context"), base)
        else:
            context = dockerfile_path.parent
        target = config.getoption("lambda_target") or (None if from_cli else ini("lambda_target"))
        try:
            build = BuildSpec(context=context, dockerfile=dockerfile_path, target=target, **build_extras)
        except ConfigError as exc:
            raise ConfigError(f"{exc} (check the lambda_build* options)") from None

    pull = config.getoption("lambda_pull") or ini("lambda_pull") or "missing"
    if pull not in _PULL_POLICIES:
        raise ConfigError(f"invalid lambda_pull {pull!r}: use one of {', '.join(_PULL_POLICIES)}")

    rie = config.getoption("lambda_rie") or ini("lambda_rie")
    if rie:
        rie = str(path(rie, cwd if config.getoption("lambda_rie") else base))
    function_fields: dict[str, Any] = {
        "env": parse_key_values(ini("lambda_env"), "lambda_env entry"),
        "rie_path": rie,
    }
    for name, key in (
        ("lambda_handler", "handler"),
        ("lambda_timeout", "timeout"),
        ("lambda_memory_size", "memory_size"),
        ("lambda_function_name", "function_name"),
        ("lambda_region", "region"),
        ("lambda_fidelity", "fidelity"),
        ("lambda_user", "user"),
        ("lambda_ephemeral_storage", "ephemeral_storage"),
        ("lambda_cpu_scaling", "cpu_scaling"),
        ("lambda_log_format", "log_format"),
        ("lambda_log_level", "log_level"),
        ("lambda_debug", "debug"),
    ):
        if ini(name) is not None:
            function_fields[key] = ini(name)
    if config.getoption("lambda_fidelity") is not None:
        function_fields["fidelity"] = config.getoption("lambda_fidelity")
    if config.getoption("lambda_debug") is not None:
        function_fields["debug"] = config.getoption("lambda_debug")
    template = _template(config, ini, base, cwd, function_fields, image_ref is not None or build is not None)
    where = "the lambda_* ini options"
    found: TemplateFunction | None = None
    if template is not None:
        where += f" and {template.template.path.name}'s function {template.function_name}"
        found = template.template.function(template.function_name)
        if image_ref is None and build is None:  # any explicit image or Dockerfile wins
            image_ref, build = template_image(found, build_extras, template.template.path.name)
        function_fields = template.function_kwargs()
    try:
        function = FunctionConfig(**function_fields)
    except ConfigError as exc:
        raise ConfigError(f"{exc} (check {where})") from None
    gateway_format = ini("lambda_gateway_format") or (found and found.gateway_format) or "1.0"
    if gateway_format not in ("1.0", "2.0", "url", "alb"):
        raise ConfigError(f"invalid lambda_gateway_format {gateway_format!r}: use 1.0, 2.0, url or alb")
    multi_value = ini("lambda_gateway_alb_multi_value_headers")
    multi_value_headers = parse_bool(multi_value, "lambda_gateway_alb_multi_value_headers") if multi_value else False
    aws = config.getoption("lambda_aws") or ini("lambda_aws")
    if aws is not None:
        aws = str(aws).strip()
        if aws.lower() in ("off", "false", "none", "no"):
            aws = None
        elif aws.lower() == "moto":
            aws = "moto"
        elif not aws.startswith(("http://", "https://")):
            raise ConfigError(f"invalid lambda_aws {aws!r}: use moto, or an endpoint URL such as http://localhost:4566")
    isolation = (ini("lambda_aws_isolation") or "test").strip().lower()
    if isolation not in ("test", "session"):
        raise ConfigError(f"invalid lambda_aws_isolation {isolation!r}: use test or session")
    aws_server = (ini("lambda_aws_server") or "auto").strip().lower()
    if aws_server not in ("auto", "process", "container"):
        raise ConfigError(f"invalid lambda_aws_server {aws_server!r}: use auto, process or container")
    return PluginSettings(
        image_ref=image_ref,
        build=build,
        pull=cast(PullPolicy, pull),
        function=function,
        gateway_format=gateway_format,
        gateway_routes=tuple(r for r in (ini("lambda_gateway_routes") or []) if r.strip())
        or (found.gateway_routes if found is not None else ()),
        gateway_alb_multi_value_headers=multi_value_headers,
        aws=aws,
        aws_isolation=isolation,
        aws_server=aws_server,
        aws_image=ini("lambda_aws_image") or "motoserver/moto:latest",
        lookahead=parse_lookahead(ini("lambda_lookahead")),
        template=template,
        build_extras=build_extras,
    )


def _template(
    config: pytest.Config,
    ini: Callable[[str], Any],
    base: Path,
    cwd: Path,
    explicit: dict[str, Any],
    image_explicit: bool,
) -> TemplateSource | None:
    """The template the options name, with the function they pick (or its only one)."""
    given = config.getoption("lambda_template")
    name = config.getoption("lambda_template_function") or ini("lambda_template_function")
    given_ini = ini("lambda_template")
    location = cwd / os.path.expanduser(given) if given else base / os.path.expanduser(given_ini) if given_ini else None
    if location is None:
        if name:
            raise ConfigError("lambda_template_function names a function, but no lambda_template is set")
        return None
    values = {
        **parse_key_values(ini("lambda_template_parameters"), "lambda_template_parameters entry"),
        **parse_key_values(config.getoption("lambda_template_parameter"), "--lambda-template-parameter value"),
    }
    from ..template import LambdaTemplate, TemplateSource

    region = str(explicit.get("region") or FunctionConfig.region)
    build_zip = parse_bool(ini("lambda_template_build_zip") or False, "lambda_template_build_zip")
    template = LambdaTemplate.load(location.resolve(), values, region=region, build_zip=build_zip)
    name = name or template.default_function_name()
    return TemplateSource(template, name, explicit=dict(explicit), image_explicit=image_explicit)


def parse_lookahead(value: Any) -> int:
    """A number of tests, or true (the default) / false (0)."""
    if value is None:
        return DEFAULT_LOOKAHEAD
    text = str(value).strip().lower()
    if text.isdigit() and int(text) <= MAX_LOOKAHEAD:
        return int(text)
    try:
        return DEFAULT_LOOKAHEAD if parse_bool(text, "lambda_lookahead") else 0
    except ConfigError:
        raise ConfigError(
            f"invalid lambda_lookahead {value!r}: give a number of tests from 0 to {MAX_LOOKAHEAD}, or true/false"
        ) from None
