"""pytest wiring: options, marker, fixtures and report hooks. The work is
done in the modules these call, imported when a test first needs them: a
pytest run that uses no Lambda fixture pays for none of it (no docker SDK,
no Docker connection, no signal handler)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from ..errors import LambdaImageError
from . import audit_gate as gate
from . import options
from .once import once
from .options import PluginSettings
from .reporting import or_fail

if TYPE_CHECKING:
    from .._runtime.engine import DockerEngine
    from .._runtime.function import LambdaFunction
    from .._runtime.image import LambdaImage
    from ..aws import AwsBackend
    from ..gateway.server import LocalApiGateway
    from .factories import AuditFactory, FunctionFactory, GatewayFactory, ImageFactory, SharedFunction
    from .lookahead import Lookahead  # noqa: F401 (the stash key names it)

MARKER = "lambda_function"
# Functions a test used, with the invoke count when it began (None: the
# container is the test's own, so its whole log belongs to the test).
_USED = pytest.StashKey["list[tuple[LambdaFunction, int | None]]"]()
_ENGINE = pytest.StashKey["list[DockerEngine]"]()
_IMAGE = pytest.StashKey["LambdaImage | LambdaImageError"]()
_AUDITS = pytest.StashKey["AuditFactory"]()
_AWS = pytest.StashKey["AwsBackend | LambdaImageError"]()
_AWS_READY = pytest.StashKey[bool]()  # the test's backend was reset (isolation = test)
_AWS_FIXTURES = ("lambda_aws", "lambda_aws_backend")
_LOOKAHEAD = pytest.StashKey["Lookahead"]()
_UPCOMING = pytest.StashKey["list[pytest.Item]"]()  # the items pytest runs after this one


def pytest_addoption(parser: pytest.Parser) -> None:
    options.add_options(parser)
    gate.add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(image=None, **settings): run this test's `lambda_function` in its own container with these "
        "settings (env, handler, timeout, memory_size, function_name, region, pass_aws_credentials, fidelity, "
        "user, ephemeral_storage, cpu_scaling, log_format, log_level, entrypoint, command, working_dir; "
        "template_function: another function of lambda_template)",
    )
    config.stash[_ENGINE] = []
    if config.getoption("lambda_audit"):
        config.pluginmanager.register(
            gate.AuditGate(lambda: session_audit(config)(), lambda: _gate_function(config)), "lambda-audit-gate"
        )


def pytest_unconfigure(config: pytest.Config) -> None:
    if _LOOKAHEAD in config.stash:  # first: a start under way must not outlive the cleanup below
        config.stash[_LOOKAHEAD].close()
    if _AUDITS in config.stash:
        config.stash[_AUDITS].close()
    backend = config.stash.get(_AWS, None)
    if backend is not None and not isinstance(backend, LambdaImageError):
        backend.close()
    engines = config.stash.get(_ENGINE, [])
    if engines:
        from .._runtime import cleanup

        # Also reached after Ctrl-C and internal errors: remove whatever this
        # process started, tracked or not.
        for engine in engines:
            cleanup.remove_session(engine.client)
            engine.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
    upcoming = _upcoming(item, nextitem)
    if upcoming:
        item.stash[_UPCOMING] = upcoming
        _look_ahead(upcoming)
    try:
        return (yield)
    finally:
        if _LOOKAHEAD in item.config.stash:
            item.config.stash[_LOOKAHEAD].discard(item.nodeid)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    # Again once this test's fixtures are set up: the session may only now have
    # the engine and image the next tests' containers need (the first test's).
    upcoming = item.stash.get(_UPCOMING, None)
    if upcoming:
        _look_ahead(upcoming)


def _upcoming(item: pytest.Item, nextitem: pytest.Item | None) -> list[pytest.Item]:
    """The tests that run next, as far as this process knows: the session's
    order when it runs them all, else (an xdist worker, whose own queue only
    tells the next one) just `nextitem`."""
    if nextitem is None:
        return []
    try:
        depth = options.resolve(item.config).lookahead
    except LambdaImageError:
        return []  # a bad setting: the tests that use the plugin report it
    if depth <= 1 or hasattr(item.config, "workerinput"):
        return [nextitem][:depth]
    items = item.session.items
    try:
        start = items.index(nextitem)
    except ValueError:
        return [nextitem]
    return items[start : start + depth]


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


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    summary = getattr(config.stash.get(_IMAGE, None), "build_summary", None)  # None also for a failed build
    if summary:
        terminalreporter.write_line(f"lambda image: {summary}")


# -- session state, made on first use -------------------------------------------------


def session_engine(config: pytest.Config) -> DockerEngine:
    """The session's engine connection, made on first use (by a fixture or
    by the audit gate) and closed at the end of the session."""
    engines = config.stash[_ENGINE]
    if not engines:
        from .._runtime import cleanup
        from .._runtime.engine import DockerEngine

        engine = DockerEngine.connect()
        engines.append(engine)
        # From here on this process owns containers: a cancelled CI job (SIGTERM)
        # must unwind like Ctrl-C so that they are removed.
        cleanup.sigterm_as_interrupt()
        cleanup.reap_stale(engine.client)
        _announce_past_capture(config)
    return engines[0]


def _announce_past_capture(config: pytest.Config) -> None:
    """Where to attach a debugger must show while the test waits, not in its captured output."""
    from .. import debug

    def announce(line: str) -> None:
        capture, reporter = (config.pluginmanager.get_plugin(name) for name in ("capturemanager", "terminalreporter"))
        if capture is None or reporter is None:
            import sys

            print(line, file=sys.stderr, flush=True)
            return
        with capture.global_and_fixture_disabled():
            reporter.write_line(line, yellow=True)

    config.add_cleanup(debug.set_announcer(announce))


def session_image(config: pytest.Config) -> LambdaImage:
    """The configured function image, built or looked up once per session
    (a failure too: every test and audit item reports it without rebuilding)."""

    def build() -> LambdaImage:
        from .factories import configured_image

        settings = options.resolve(config)
        return configured_image(settings, session_engine(config), _build_progress(config, settings))

    return once(config.stash, _IMAGE, build)


def _build_progress(config: pytest.Config, settings: PluginSettings) -> Callable[[str], None] | None:
    """A long build's output on the terminal (none under xdist workers, which have no terminal)."""
    from ..build.progress import BuildProgress

    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None or settings.build is None:
        return None
    return BuildProgress(lambda line: reporter.write_line(line), str(settings.build.dockerfile_path))


def _gate_function(config: pytest.Config) -> LambdaFunction:
    """A fresh container for the run-time extension check, as Lambda's
    non-root user: an extension only root could start fails here as on AWS."""
    from .._runtime.function import LambdaFunction
    from ..audit import LAMBDA_GID, LAMBDA_UID

    settings = options.resolve(config)
    function = LambdaFunction(session_image(config), settings.function, engine=session_engine(config), pull="never")
    function.with_kwargs(user=f"{LAMBDA_UID}:{LAMBDA_GID}")
    return or_fail(function.start)


def session_audit(config: pytest.Config) -> AuditFactory:
    if _AUDITS not in config.stash:
        from .factories import AuditFactory

        allow = config.getini("lambda_audit_allow") or []
        config.stash[_AUDITS] = AuditFactory(lambda: session_engine(config), lambda: session_image(config), allow)
    return config.stash[_AUDITS]


def session_aws(config: pytest.Config) -> AwsBackend:
    """The session's AWS backend (per xdist worker), started on first use."""

    def start() -> AwsBackend:
        from ..aws import start_backend

        settings = options.resolve(config)
        return start_backend(
            session_engine(config),
            settings.aws,
            settings.function.region,
            server=settings.aws_server,
            image=settings.aws_image,
            pull=settings.pull,
        )

    return once(config.stash, _AWS, start)


def _test_aws(request: pytest.FixtureRequest) -> AwsBackend:
    """The backend for this test: reset once before the test when isolation
    is per test (moto only: an external endpoint keeps its state)."""
    backend = session_aws(request.config)
    item = request.node
    if not item.stash.get(_AWS_READY, False):
        item.stash[_AWS_READY] = True
        if backend.kind == "moto" and options.resolve(request.config).aws_isolation == "test":
            backend.reset()
    return backend


def _functions_aws(request: pytest.FixtureRequest, settings: PluginSettings) -> AwsBackend | None:
    """The backend this test's functions talk to: every test's when
    lambda_aws is configured, else only that of tests that use it."""
    if settings.aws is None and not any(name in request.fixturenames for name in _AWS_FIXTURES):
        return None
    return _test_aws(request)


def _look_ahead(items: list[pytest.Item]) -> None:
    for item in items:
        _start_ahead(item)


def _start_ahead(item: pytest.Item) -> None:
    """Start the fresh container a marked test will ask for while the tests
    before it run. Only with what the session already has (engine, image,
    AWS backend): looking ahead never builds, pulls or starts a backend."""
    config = item.config
    marker = item.get_closest_marker(MARKER)
    if marker is None or not (marker.args or marker.kwargs) or not config.stash.get(_ENGINE, None):
        return
    try:
        settings = options.resolve(config)
        overrides = dict(marker.kwargs)
        image = marker.args[0] if marker.args else overrides.pop("image", None)
        if image is None:
            image = config.stash.get(_IMAGE, None)
            if image is None or isinstance(image, LambdaImageError):
                return
        aws: AwsBackend | None = None
        if settings.aws is not None or any(name in getattr(item, "fixturenames", ()) for name in _AWS_FIXTURES):
            found = config.stash.get(_AWS, None)
            if found is None or isinstance(found, LambdaImageError):
                return
            aws = found
        from .factories import FunctionPlan
        from .lookahead import Lookahead

        plan = FunctionPlan.of(settings, aws, image, overrides)
    except (LambdaImageError, TypeError, ValueError):
        return  # the test itself reports a bad setting
    engine = session_engine(config)
    lookahead = config.stash.setdefault(_LOOKAHEAD, Lookahead())
    lookahead.offer(item.nodeid, plan.key, lambda: plan.make(engine, settings.pull))


def _note_use(item: pytest.Item) -> Callable[[LambdaFunction], None]:
    """Remember a test's own functions, so a failure report carries their logs."""
    return lambda function: item.stash.setdefault(_USED, []).append((function, None))


# -- fixtures --------------------------------------------------------------------


@pytest.fixture(scope="session")
def lambda_settings(pytestconfig: pytest.Config) -> PluginSettings:
    """The plugin's settings from CLI options, ini options and environment."""
    return or_fail(lambda: options.resolve(pytestconfig))


@pytest.fixture(scope="session")
def lambda_engine(pytestconfig: pytest.Config) -> DockerEngine:
    """The Docker engine connection shared by the session."""
    return or_fail(lambda: session_engine(pytestconfig))


@pytest.fixture(scope="session")
def lambda_image(pytestconfig: pytest.Config, lambda_settings: PluginSettings) -> LambdaImage:
    """The configured function image: `--lambda-image`, or built from
    `lambda_dockerfile` (once per session, shared by xdist workers)."""
    return or_fail(lambda: session_image(pytestconfig))


@pytest.fixture(scope="session")
def lambda_image_factory(lambda_engine: DockerEngine) -> ImageFactory:
    """Build (`.build(context, dockerfile=..., target=..., build_args=...)`) or
    look up / pull (`.get(ref)`) further images."""
    from .factories import ImageFactory

    return ImageFactory(lambda_engine)


@pytest.fixture
def lambda_function_factory(
    request: pytest.FixtureRequest, lambda_engine: DockerEngine, lambda_settings: PluginSettings
) -> Iterator[FunctionFactory]:
    """`lambda_function_factory(image=None, **settings)` starts a function
    (default: the configured image) and removes it when the test ends."""
    from .factories import FunctionFactory

    factory = FunctionFactory(
        lambda_engine,
        lambda_settings,
        lambda: request.getfixturevalue("lambda_image"),
        _note_use(request.node),
        or_fail(lambda: _functions_aws(request, lambda_settings)),
    )
    yield factory
    factory.close()


@pytest.fixture(scope="session")
def _lambda_shared_function(
    lambda_engine: DockerEngine, lambda_settings: PluginSettings, lambda_image: LambdaImage
) -> Iterator[SharedFunction]:
    from .factories import SharedFunction

    shared = SharedFunction(lambda_engine, lambda_settings, lambda: lambda_image)
    yield shared
    shared.close()


@pytest.fixture
def lambda_function(request: pytest.FixtureRequest, lambda_settings: PluginSettings) -> Iterator[LambdaFunction]:
    """The configured function, running under the RIE. Tests share one warm
    container (as Lambda reuses one), unless marked with
    `@pytest.mark.lambda_function(**settings)`: such a test gets a fresh
    container with those settings, for that test alone."""
    marker = request.node.get_closest_marker(MARKER)
    aws = or_fail(lambda: _functions_aws(request, lambda_settings))
    if marker is None or not (marker.args or marker.kwargs):
        shared: SharedFunction = request.getfixturevalue("_lambda_shared_function")
        function = or_fail(lambda: shared.get(aws))
        request.node.stash.setdefault(_USED, []).append((function, function.collector.issued))
        yield function
        return
    from .factories import FunctionFactory

    settings = dict(marker.kwargs)
    image = marker.args[0] if marker.args else settings.pop("image", None)
    factory = FunctionFactory(
        request.getfixturevalue("lambda_engine"),
        lambda_settings,
        lambda: request.getfixturevalue("lambda_image"),
        _note_use(request.node),
        aws,
        (request.config.stash[_LOOKAHEAD], request.node.nodeid) if _LOOKAHEAD in request.config.stash else None,
    )
    try:
        function = or_fail(lambda: factory(image, **settings))
        yield function
    finally:
        factory.close()


@pytest.fixture
def lambda_gateway_factory(request: pytest.FixtureRequest, lambda_settings: PluginSettings) -> Iterator[GatewayFactory]:
    """`lambda_gateway_factory(function=None, routes=None, payload_format=None,
    stage=..., stage_variables=..., authorizer=..., binary_media_types=...,
    multi_value_headers=...)` starts a local API Gateway in front of a function
    (default: `lambda_function`)."""
    from .factories import GatewayFactory

    factory = GatewayFactory(lambda_settings, lambda: request.getfixturevalue("lambda_function"))
    yield factory
    factory.close()


@pytest.fixture
def lambda_gateway(lambda_gateway_factory: GatewayFactory) -> LocalApiGateway:
    """A local API Gateway in front of `lambda_function`, configured by the
    `lambda_gateway_format`, `lambda_gateway_routes` and
    `lambda_gateway_alb_multi_value_headers` ini options; talk to it at
    `lambda_gateway.url` with requests, curl or a browser."""
    return or_fail(lambda_gateway_factory)


@pytest.fixture(scope="session")
def lambda_audit(pytestconfig: pytest.Config) -> AuditFactory:
    """`lambda_audit(image=None, allow=None)` returns the ImageAudit of an
    image (default: the configured one), read once per session:
    `lambda_audit().assert_no_credentials()`."""
    return session_audit(pytestconfig)


@pytest.fixture(scope="session")
def lambda_aws_backend(pytestconfig: pytest.Config) -> AwsBackend:
    """The session's AWS backend, never reset: for session-scoped fixtures
    that seed it (with `lambda_aws_isolation = session`)."""
    return or_fail(lambda: session_aws(pytestconfig))


@pytest.fixture
def lambda_aws(request: pytest.FixtureRequest) -> AwsBackend:
    """An AWS backend that this test's functions talk to (moto's server,
    started once per session, or the `lambda_aws` endpoint): seed it and
    check side effects with `lambda_aws.client("dynamodb")`. moto's state is
    wiped before each test unless `lambda_aws_isolation = session`."""
    return or_fail(lambda: _test_aws(request))


@pytest.fixture
def lambda_gateway_url(lambda_gateway: LocalApiGateway) -> str:
    """The base URL of `lambda_gateway`, e.g. `http://127.0.0.1:41234`."""
    return lambda_gateway.url
