"""What the plugin's fixtures hand to tests: factories for functions, images,
gateways and audits, and the session's shared function. plugin.py wires them
to pytest and imports this module only when a test asks for one."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .._runtime.engine import DockerEngine
from .._runtime.function import LambdaFunction
from .._runtime.image import LambdaImage, get_image
from .._runtime.settings import FunctionConfig, PullPolicy
from ..audit import ImageAudit
from ..audit.findings import Allow, coerce_allowlist
from ..build import build_image
from ..build.spec import DEFAULT_KEEP_IMAGES, BuildSpec
from ..errors import LambdaImageError
from ..gateway.server import LocalApiGateway
from .lookahead import Lookahead
from .options import PluginSettings
from .reporting import or_fail

if TYPE_CHECKING:
    from ..aws import AwsBackend


def configured_image(
    settings: PluginSettings, engine: DockerEngine, progress: Callable[[str], None] | None = None
) -> LambdaImage:
    """The image the settings name: a tag (pulled if need be) or a build."""
    if settings.image_ref:
        image = get_image(engine, settings.image_ref, settings.pull)
        settings.check_architecture(image)
        return image
    if settings.build:
        return build_image(engine, settings.build, progress)
    raise LambdaImageError(
        "no function image configured: set lambda_dockerfile (or lambda_image) in the pytest ini "
        "options, or pass --lambda-image=TAG / --lambda-dockerfile=PATH"
    )


class AuditFactory:
    """Audits by image, each read (docker save) once and kept for the session."""

    def __init__(
        self,
        engine: Callable[[], DockerEngine],
        default_image: Callable[[], LambdaImage],
        allow: list[str],
    ) -> None:
        self._engine = engine
        self._default_image = default_image
        self._allow = allow
        self._audits: dict[str, ImageAudit | LambdaImageError] = {}

    def __call__(self, image: str | LambdaImage | None = None, *, allow: list[Allow | str] | None = None) -> ImageAudit:
        __tracebackhide__ = True
        return or_fail(lambda: self._get(image, allow))

    def _get(self, image: str | LambdaImage | None, allow: list[Allow | str] | None) -> ImageAudit:
        configured = coerce_allowlist(self._allow)  # checked before any image is saved
        engine = self._engine()
        target = image if image is not None else self._default_image()
        if isinstance(target, str):
            target = get_image(engine, target, pull="never")
        if target.id not in self._audits:  # one read per image, whatever the allowlist; a failure too
            try:
                audit = ImageAudit.of(engine, target, allow=configured)
                audit._shared = True  # tests may `with` it; the session closes it
                self._audits[target.id] = audit
            except LambdaImageError as exc:
                self._audits[target.id] = exc
        found = self._audits[target.id]
        if isinstance(found, LambdaImageError):
            raise found.with_traceback(None)
        return found.with_allow(allow) if allow else found

    def close(self) -> None:
        while self._audits:
            found = self._audits.popitem()[1]
            if isinstance(found, ImageAudit):
                found.archive.close()


class ImageFactory:
    """Builds or looks up images from test code: `.build(context, ...)`, `.get(ref)`."""

    def __init__(self, engine: DockerEngine) -> None:
        self._engine = engine

    def build(
        self,
        context: Any,
        *,
        dockerfile: Any = None,
        target: str | None = None,
        build_args: dict[str, str] | None = None,
        platform: str | None = None,
        tag: str | None = None,
        secrets: list[str] | tuple[str, ...] = (),
        ssh: list[str] | tuple[str, ...] = (),
        builder: str = "auto",
        docker_cli: str | None = None,
        keep: int = DEFAULT_KEEP_IMAGES,
    ) -> LambdaImage:
        __tracebackhide__ = True
        return or_fail(
            lambda: build_image(
                self._engine,
                BuildSpec(
                    context,
                    dockerfile,
                    target,
                    build_args or {},
                    platform,
                    tag,
                    secrets=tuple(secrets),
                    ssh=tuple(ssh),
                    builder=builder,
                    docker_cli=docker_cli,
                    keep=keep,
                ),
            )
        )

    def get(self, ref: str, pull: PullPolicy = "missing") -> LambdaImage:
        return get_image(self._engine, ref, pull)


class FunctionFactory:
    """Starts functions; every one is removed when the owning fixture ends.
    With a `lookahead` (and the test it serves), a container started ahead
    with the same settings is taken instead of starting one."""

    def __init__(
        self,
        engine: DockerEngine,
        settings: PluginSettings,
        default_image: Callable[[], LambdaImage],
        on_start: Callable[[LambdaFunction], None] | None = None,
        aws: AwsBackend | None = None,
        lookahead: tuple[Lookahead, str] | None = None,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._default_image = default_image  # resolved only when needed
        self._on_start = on_start  # e.g. note the function for the test's failure report
        self._started: list[LambdaFunction] = []
        self._aws = aws  # the AWS backend the functions talk to, if any
        self._lookahead = lookahead

    def plan(self, image: str | LambdaImage | None, settings: dict[str, Any]) -> FunctionPlan:
        template_function = settings.pop("template_function", None)
        if template_function is not None:  # another function of the template: its image and settings
            chosen = self._settings.for_template_function(str(template_function))
            image = image if image is not None else configured_image(chosen, self._engine)
            return FunctionPlan.of(chosen, self._aws, image, settings)
        image = image if image is not None else self._default_image()
        return FunctionPlan.of(self._settings, self._aws, image, settings)

    def __call__(self, image: str | LambdaImage | None = None, **settings: Any) -> LambdaFunction:
        __tracebackhide__ = True
        plan = self.plan(image, dict(settings))
        function = None
        if self._lookahead is not None:
            lookahead, owner = self._lookahead
            function = lookahead.take(owner, plan.key)
        if function is None:
            function = plan.make(self._engine, self._settings.pull)
        self._started.append(function)
        if self._on_start is not None:
            self._on_start(function)
        return function.start()  # a no-op for one started ahead

    def close(self) -> None:
        while self._started:
            self._started.pop().stop(background=True)  # off the test's clock


@dataclass(frozen=True)
class FunctionPlan:
    """What a function will be: its image, settings and network; `key` tells
    two plans that would start the same container apart."""

    image: str | LambdaImage
    config: FunctionConfig
    network: str | None = None

    @classmethod
    def of(
        cls, settings: PluginSettings, aws: AwsBackend | None, image: str | LambdaImage, overrides: dict[str, Any]
    ) -> FunctionPlan:
        config = settings.function
        if aws is not None:  # its variables under the configured ones: lambda_env and markers win
            config = config.replace(env={**aws.environment(), **config.env})
        config = config.replace(**overrides) if overrides else config
        return cls(image, config, aws.network if aws is not None else None)

    @property
    def key(self) -> str:
        image = self.image.id if isinstance(self.image, LambdaImage) else self.image
        return f"{image}|{self.network}|{self.config!r}"

    def make(self, engine: DockerEngine, pull: PullPolicy) -> LambdaFunction:
        function = LambdaFunction(self.image, self.config, engine=engine, pull=pull)
        if self.config.debug:
            from ..debug import attach

            attach(function)
        if self.network:
            function.with_kwargs(network=self.network)
        return function


class SharedFunction:
    """The session's default function container, (re)started on demand: one
    for tests without the AWS backend, one for tests with it."""

    def __init__(self, engine: DockerEngine, settings: PluginSettings, image: Callable[[], LambdaImage]) -> None:
        self._make = functools.partial(FunctionFactory, engine, settings, image)
        self._factories: dict[bool, FunctionFactory] = {}
        self._functions: dict[bool, LambdaFunction] = {}

    def get(self, aws: AwsBackend | None = None) -> LambdaFunction:
        key = aws is not None  # one backend per session
        function = self._functions.get(key)
        if function is not None and not function.is_running():
            function.stop()  # it died (e.g. killed from outside): start afresh
            function = None
        if function is None:
            factory = self._factories.setdefault(key, self._make(aws=aws))
            function = self._functions[key] = factory()
        return function

    def close(self) -> None:
        self._functions.clear()
        while self._factories:
            self._factories.popitem()[1].close()


class GatewayFactory:
    """Starts local API Gateways; each is stopped when the test ends."""

    def __init__(self, settings: PluginSettings, default_function: Callable[[], LambdaFunction]) -> None:
        self._settings = settings
        self._default_function = default_function
        self._started: list[LocalApiGateway] = []

    def __call__(
        self,
        function: LambdaFunction | None = None,
        *,
        routes: list[str] | None = None,
        payload_format: str | None = None,
        **options: Any,
    ) -> LocalApiGateway:
        __tracebackhide__ = True
        payload_format = payload_format or self._settings.gateway_format
        if payload_format == "alb":  # the lambda_gateway_alb_multi_value_headers ini option, unless given here
            options.setdefault("multi_value_headers", self._settings.gateway_alb_multi_value_headers)
        gateway = LocalApiGateway(
            function if function is not None else self._default_function(),
            routes=routes or list(self._settings.gateway_routes) or None,
            payload_format=payload_format,  # type: ignore[arg-type]
            **options,
        )
        self._started.append(gateway)
        return gateway.start()

    def close(self) -> None:
        while self._started:
            self._started.pop().stop()
