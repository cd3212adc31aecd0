"""pytest wiring: options, marker, fixtures and report hooks. The work is
done in the modules these call."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterator
from typing import Any, TypeVar

import pytest

from . import cleanup, gate, options
from .audit import LAMBDA_GID, LAMBDA_UID, ImageAudit
from .audit.findings import Allow, coerce_allowlist
from .build import build_image
from .build.progress import BuildProgress
from .engine import DockerEngine
from .errors import LambdaImageError
from .function import LambdaFunction
from .gateway import LocalApiGateway
from .image import LambdaImage, get_image
from .options import PluginSettings
from .settings import DEFAULT_KEEP_IMAGES, BuildSpec, PullPolicy

T = TypeVar("T")
MARKER = "lambda_function"
# Functions a test used, with the invoke count when it began (None: the
# container is the test's own, so its whole log belongs to the test).
_USED = pytest.StashKey[list[tuple[LambdaFunction, "int | None"]]]()
_ENGINE = pytest.StashKey[list[DockerEngine]]()
_IMAGE = pytest.StashKey["LambdaImage | LambdaImageError"]()
_AUDITS = pytest.StashKey["AuditFactory"]()


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)
    gate.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(image=None, **settings): run this test's `lambda_function` in its own container with these "
        "settings (env, handler, timeout, memory_size, function_name, region, pass_aws_credentials)",
    )
    config.stash[_ENGINE] = []
    cleanup.sigterm_as_interrupt()
    if config.getoption("lambda_audit"):
        config.pluginmanager.register(
            gate.AuditGate(lambda: session_audit(config)(), lambda: _gate_function(config)), "lambda-audit-gate"
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    if _AUDITS in config.stash:
        config.stash[_AUDITS].close()
    # Also reached after Ctrl-C and internal errors: remove whatever this
    # process started, tracked or not.
    for engine in config.stash.get(_ENGINE, []):
        cleanup.remove_session(engine.client)
        engine.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if report.failed and call.when in ("setup", "call"):
        for function, mark in item.stash.get(_USED, []):
            with contextlib.suppress(Exception):
                text = function.logs() if mark is None else "\n".join(function.collector.lines_from(mark))
                if text:
                    report.sections.append((f"lambda function log: {function.function_name}", text))
    return report


def _or_fail(action: Callable[[], T]) -> T:
    """Run `action`; a plugin error fails the test with its one-line message
    instead of a traceback through the plugin and the docker SDK."""
    try:
        return action()
    except LambdaImageError as exc:
        message = str(exc)
    # Outside the except block, so pytest shows no "during handling" chain.
    pytest.fail(message, pytrace=False)


# -- fixtures --------------------------------------------------------------------


@pytest.fixture(scope="session")
def lambda_settings(pytestconfig: pytest.Config) -> PluginSettings:
    """The plugin's settings from CLI options, ini options and environment."""
    return _or_fail(lambda: options.resolve(pytestconfig))


def session_engine(config: pytest.Config) -> DockerEngine:
    """The session's engine connection, made on first use (by a fixture or
    by the audit gate) and closed at the end of the session."""
    engines = config.stash[_ENGINE]
    if not engines:
        engine = DockerEngine.connect()
        engines.append(engine)
        cleanup.reap_stale(engine.client)
    return engines[0]


def session_image(config: pytest.Config) -> LambdaImage:
    """The configured function image, built or looked up once per session
    (a failure too: every test and audit item reports it without rebuilding)."""
    if _IMAGE not in config.stash:
        try:
            config.stash[_IMAGE] = _configured_image(
                options.resolve(config), session_engine(config), _build_progress(config)
            )
        except LambdaImageError as exc:
            config.stash[_IMAGE] = exc
    found = config.stash[_IMAGE]
    if isinstance(found, LambdaImageError):
        raise found.with_traceback(None)  # the same object each time: do not let its traceback grow
    return found


def _build_progress(config: pytest.Config) -> Callable[[str], None] | None:
    """A long build's output on the terminal (none under xdist workers, which have no terminal)."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    settings = options.resolve(config)
    if reporter is None or settings.build is None:
        return None
    return BuildProgress(lambda line: reporter.write_line(line), str(settings.build.dockerfile_path))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    image = config.stash.get(_IMAGE, None)
    if isinstance(image, LambdaImage) and image.builder is not None and image.build_seconds is not None:
        how = "unchanged inputs, not rebuilt" if image.builder == "cache" else f"built with {image.builder}"
        terminalreporter.write_line(f"lambda image: {image.ref} ({how}, {image.build_seconds:.2f} s)")


def _gate_function(config: pytest.Config) -> LambdaFunction:
    """A fresh container for the run-time extension check, as Lambda's
    non-root user: an extension only root could start fails here as on AWS."""
    settings = options.resolve(config)
    function = LambdaFunction(session_image(config), settings.function, engine=session_engine(config), pull="never")
    function.with_kwargs(user=f"{LAMBDA_UID}:{LAMBDA_GID}")
    return _or_fail(function.start)


def session_audit(config: pytest.Config) -> AuditFactory:
    if _AUDITS not in config.stash:
        allow = config.getini("lambda_audit_allow") or []
        config.stash[_AUDITS] = AuditFactory(lambda: session_engine(config), lambda: session_image(config), allow)
    return config.stash[_AUDITS]


@pytest.fixture(scope="session")
def lambda_engine(pytestconfig: pytest.Config) -> DockerEngine:
    """The Docker engine connection shared by the session."""
    return _or_fail(lambda: session_engine(pytestconfig))


@pytest.fixture(scope="session")
def lambda_image(pytestconfig: pytest.Config, lambda_settings: PluginSettings) -> LambdaImage:
    """The configured function image: `--lambda-image`, or built from
    `lambda_dockerfile` (once per session, shared by xdist workers)."""
    return _or_fail(lambda: session_image(pytestconfig))


def _configured_image(
    settings: PluginSettings, engine: DockerEngine, progress: Callable[[str], None] | None = None
) -> LambdaImage:
    if settings.image_ref:
        return get_image(engine, settings.image_ref, settings.pull)
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
        return _or_fail(lambda: self._get(image, allow))

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
        return _or_fail(
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


@pytest.fixture(scope="session")
def lambda_image_factory(lambda_engine: DockerEngine) -> ImageFactory:
    """Build (`.build(context, dockerfile=..., target=..., build_args=...)`) or
    look up / pull (`.get(ref)`) further images."""
    return ImageFactory(lambda_engine)


class FunctionFactory:
    """Starts functions; every one is removed when the owning fixture ends."""

    def __init__(
        self,
        engine: DockerEngine,
        settings: PluginSettings,
        default_image: Any,
        item: pytest.Item | None = None,
    ) -> None:
        self._engine = engine
        self._settings = settings
        self._default_image = default_image  # () -> LambdaImage, resolved only when needed
        self._item = item
        self._started: list[LambdaFunction] = []

    def __call__(self, image: str | LambdaImage | None = None, **settings: Any) -> LambdaFunction:
        __tracebackhide__ = True
        config = self._settings.function.replace(**settings) if settings else self._settings.function
        function = LambdaFunction(
            image if image is not None else self._default_image(),
            config,
            engine=self._engine,
            pull=self._settings.pull,
        )
        self._started.append(function)
        if self._item is not None:
            self._item.stash.setdefault(_USED, []).append((function, None))
        return function.start()

    def close(self) -> None:
        while self._started:
            self._started.pop().stop()


@pytest.fixture
def lambda_function_factory(
    request: pytest.FixtureRequest, lambda_engine: DockerEngine, lambda_settings: PluginSettings
) -> Iterator[FunctionFactory]:
    """`lambda_function_factory(image=None, **settings)` starts a function
    (default: the configured image) and removes it when the test ends."""
    factory = FunctionFactory(
        lambda_engine, lambda_settings, lambda: request.getfixturevalue("lambda_image"), request.node
    )
    yield factory
    factory.close()


class _SharedFunction:
    """The session's default function container, (re)started on demand."""

    def __init__(self, factory: FunctionFactory) -> None:
        self._factory = factory
        self._function: LambdaFunction | None = None

    def get(self) -> LambdaFunction:
        if self._function is not None and not self._function.is_running():
            self._function.stop()  # it died (e.g. killed from outside): start afresh
            self._function = None
        if self._function is None:
            self._function = self._factory()
        return self._function

    def close(self) -> None:
        self._factory.close()


@pytest.fixture(scope="session")
def _lambda_shared_function(
    lambda_engine: DockerEngine, lambda_settings: PluginSettings, lambda_image: LambdaImage
) -> Iterator[_SharedFunction]:
    shared = _SharedFunction(FunctionFactory(lambda_engine, lambda_settings, lambda: lambda_image))
    yield shared
    shared.close()


@pytest.fixture
def lambda_function(request: pytest.FixtureRequest, lambda_settings: PluginSettings) -> Iterator[LambdaFunction]:
    """The configured function, running under the RIE. Tests share one warm
    container (as Lambda reuses one), unless marked with
    `@pytest.mark.lambda_function(**settings)`: such a test gets a fresh
    container with those settings, for that test alone."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is None or not (marker.args or marker.kwargs):
        shared: _SharedFunction = request.getfixturevalue("_lambda_shared_function")
        function = _or_fail(shared.get)
        request.node.stash.setdefault(_USED, []).append((function, function.collector.issued))
        yield function
        return
    settings = dict(marker.kwargs)
    image = marker.args[0] if marker.args else settings.pop("image", None)
    factory = FunctionFactory(
        request.getfixturevalue("lambda_engine"),
        lambda_settings,
        lambda: request.getfixturevalue("lambda_image"),
        request.node,
    )
    try:
        function = _or_fail(lambda: factory(image, **settings))
        yield function
    finally:
        factory.close()


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


@pytest.fixture
def lambda_gateway_factory(request: pytest.FixtureRequest, lambda_settings: PluginSettings) -> Iterator[GatewayFactory]:
    """`lambda_gateway_factory(function=None, routes=None, payload_format=None,
    stage=..., stage_variables=..., authorizer=..., binary_media_types=...,
    multi_value_headers=...)` starts a local API Gateway in front of a function
    (default: `lambda_function`)."""
    factory = GatewayFactory(lambda_settings, lambda: request.getfixturevalue("lambda_function"))
    yield factory
    factory.close()


@pytest.fixture
def lambda_gateway(lambda_gateway_factory: GatewayFactory) -> LocalApiGateway:
    """A local API Gateway in front of `lambda_function`, configured by the
    `lambda_gateway_format`, `lambda_gateway_routes` and
    `lambda_gateway_alb_multi_value_headers` ini options; talk to it at
    `lambda_gateway.url` with requests, curl or a browser."""
    return _or_fail(lambda_gateway_factory)


@pytest.fixture(scope="session")
def lambda_audit(pytestconfig: pytest.Config) -> AuditFactory:
    """`lambda_audit(image=None, allow=None)` returns the ImageAudit of an
    image (default: the configured one), read once per session:
    `lambda_audit().assert_no_credentials()`."""
    return session_audit(pytestconfig)


@pytest.fixture
def lambda_gateway_url(lambda_gateway: LocalApiGateway) -> str:
    """The base URL of `lambda_gateway`, e.g. `http://127.0.0.1:41234`."""
    return lambda_gateway.url
