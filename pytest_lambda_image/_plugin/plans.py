"""What the pytest tier decides before anything starts: the session's
settings (`PluginSettings`, drafted by the core and the capability plugins
through `pytest_lambda_settings`) and each function's plan (`FunctionPlan`,
drafted through `pytest_lambda_plan`)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .._runtime.settings import FunctionConfig, PullPolicy
from ..errors import ConfigError, LambdaImageError
from .option import Source

if TYPE_CHECKING:
    import pytest

    from .._runtime.engine import DockerEngine
    from .._runtime.function import LambdaFunction
    from .._runtime.image import LambdaImage
    from ..build.spec import BuildSpec

DEFAULT_LOOKAHEAD = 2  # marked tests whose containers start ahead
_RANK = {"cli": 0, "ini": 1, "env": 2, "default": 3}


@dataclass(frozen=True)
class PluginSettings:
    """The session's resolved settings: the image to test (a ref, or a
    build), the function's settings, and what capability plugins keep for
    their later steps (`extras`, by plugin)."""

    image_ref: str | None = None
    build: BuildSpec | None = None
    pull: PullPolicy = "missing"
    function: FunctionConfig = field(default_factory=FunctionConfig)
    lookahead: int = DEFAULT_LOOKAHEAD
    extras: Mapping[str, Any] = field(default_factory=dict)
    image_checks: tuple[Callable[[LambdaImage], None], ...] = ()  # e.g. the template's Architectures

    @property
    def configured(self) -> bool:
        return self.image_ref is not None or self.build is not None


@dataclass(frozen=True)
class ImageChoice:
    """A way to get the image, and the level that named it."""

    source: Source
    ref: str | None = None
    build: BuildSpec | None = None
    name: str = "lambda_image"  # the option, for messages


@dataclass
class SettingsDraft:
    """The session's settings while the plugins fill them in."""

    config: pytest.Config
    choices: list[ImageChoice] = field(default_factory=list)
    pull: PullPolicy = "missing"
    function: dict[str, Any] = field(default_factory=dict)  # FunctionConfig fields from the options
    function_from: str = "the lambda_* ini options"  # where they came from, for messages
    lookahead: int = DEFAULT_LOOKAHEAD
    extras: dict[str, Any] = field(default_factory=dict)
    image_checks: list[Callable[[LambdaImage], None]] = field(default_factory=list)
    # Set by a plugin that takes the image and function settings from elsewhere (a template).
    image: tuple[str | None, BuildSpec | None] | None = None

    @property
    def image_explicit(self) -> bool:
        return bool(self.choices)

    def chosen_image(self) -> tuple[str | None, BuildSpec | None]:
        """The highest level's image; two ways at the same level are a mistake."""
        if not self.choices:
            return self.image or (None, None)
        ordered = sorted(self.choices, key=lambda choice: _RANK[choice.source])
        first = ordered[0]
        rival = next((c for c in ordered[1:] if c.source == first.source and c.name != first.name), None)
        if rival is not None:
            if first.source == "cli":
                raise ConfigError(
                    f"pass either --{first.name.replace('_', '-')} or --{rival.name.replace('_', '-')}, not both"
                )
            raise ConfigError(f"set either {first.name} or {rival.name} in the ini file, not both")
        return first.ref, first.build

    def finish(self) -> PluginSettings:
        image_ref, build = self.chosen_image()
        try:
            function = FunctionConfig(**self.function)
        except ConfigError as exc:
            raise ConfigError(f"{exc} (check {self.function_from})") from None
        return PluginSettings(
            image_ref=image_ref,
            build=build,
            pull=self.pull,
            function=function,
            lookahead=self.lookahead,
            extras=dict(self.extras),
            image_checks=tuple(self.image_checks),
        )


@dataclass
class FunctionDraft:
    """One function's plan while the plugins refine it."""

    config: pytest.Config
    settings: PluginSettings
    engine: DockerEngine
    image: str | LambdaImage | None
    overrides: dict[str, Any]  # FunctionConfig fields (the marker's or the factory's)
    keys: dict[str, Any]  # the keywords plugins take
    node: pytest.Item | None = None  # the test it is for
    ahead: bool = False  # planned ahead of its test: start nothing, build nothing
    env: dict[str, str] = field(default_factory=dict)  # under the configured variables
    network: str | None = None

    def finish(self, default_image: Callable[[], LambdaImage]) -> FunctionPlan:
        config = self.settings.function
        if self.env:  # under the configured ones: lambda_env and markers win
            config = config.replace(env={**self.env, **config.env})
        config = config.replace(**self.overrides) if self.overrides else config
        image = self.image if self.image is not None else default_image()
        return FunctionPlan(image, config, self.network, tuple(sorted(self.keys.items(), key=lambda kv: kv[0])))


@dataclass(frozen=True)
class FunctionPlan:
    """What a function will be: its image, settings, network and the
    plugins' keywords; `key` tells two plans that would start the same
    container apart."""

    image: str | LambdaImage
    config: FunctionConfig
    network: str | None = None
    keys: tuple[tuple[str, Any], ...] = ()

    @property
    def key(self) -> str:
        from .._runtime.image import LambdaImage

        image = self.image.id if isinstance(self.image, LambdaImage) else self.image
        return f"{image}|{self.network}|{self.config!r}|{self.keys!r}"

    def make(self, config: pytest.Config, engine: DockerEngine, pull: PullPolicy) -> LambdaFunction:
        """The function, not started, with the plugins' additions attached
        (none of the installed defaults: each comes from its plugin)."""
        from .._runtime.function import LambdaFunction

        function = LambdaFunction(self.image, self.config, engine=engine, pull=pull, additions={})
        config.hook.pytest_lambda_function(config=config, function=function, keys=dict(self.keys))
        if self.network:
            function.with_kwargs(network=self.network)
        return function


def split_keys(config: pytest.Config, settings: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Marker / factory keywords -> (function settings, plugins' keywords).
    Anything else is refused with the keys that would be understood."""
    taken = plugin_keys(config)
    fields = set(FunctionConfig.__dataclass_fields__)
    overrides = {key: value for key, value in settings.items() if key in fields}
    keys = {key: value for key, value in settings.items() if key in taken and key not in fields}
    unknown = set(settings) - set(overrides) - set(keys)
    if unknown:
        raise ConfigError(
            f"unknown function setting(s): {', '.join(sorted(unknown))} (function settings: "
            f"{', '.join(sorted(fields - {'labels', 'rie_path'}))}; "
            f"plugins' keywords: {', '.join(sorted(taken)) or 'none'})"
        )
    return overrides, keys


def plugin_keys(config: pytest.Config) -> dict[str, str]:
    taken: dict[str, str] = {}
    for found in config.hook.pytest_lambda_marker_keys():
        taken.update(found)
    return taken


def configured_image(
    settings: PluginSettings, engine: DockerEngine, progress: Callable[[str], None] | None = None
) -> LambdaImage:
    """The image the settings name: a tag (pulled if need be) or a build."""
    from .._runtime.image import get_image

    if settings.image_ref:
        image = get_image(engine, settings.image_ref, settings.pull)
        for check in settings.image_checks:
            check(image)
        return image
    if settings.build:
        from ..build import build_image

        return build_image(engine, settings.build, progress)
    raise LambdaImageError(
        "no function image configured: set lambda_dockerfile (or lambda_image) in the pytest ini "
        "options, or pass --lambda-image=TAG / --lambda-dockerfile=PATH"
    )
