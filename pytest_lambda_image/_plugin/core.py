"""The core plugin (`lambda_image`): the function under test. Its options
(the image, the function's settings), the `lambda_function` marker, the
fixtures that start functions, their logs on failed reports, the look-ahead
and the cleanup at the session's end. Capabilities take part through the
hooks in hookspecs.py, from plugins of their own.

The work is done in the modules these call, imported when a test first
needs them: a pytest run that uses no Lambda fixture pays for none of it
(no docker SDK, no Docker connection, no signal handler)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from ..errors import LambdaImageError
from . import hookspecs, option, session
from .plans import PluginSettings, plugin_keys
from .reporting import or_fail
from .session import OPTIONS

if TYPE_CHECKING:
    from .._runtime.engine import DockerEngine
    from .._runtime.function import LambdaFunction
    from .._runtime.image import LambdaImage
    from .factories import FunctionFactory, SharedFunction
    from .lookahead import Lookahead  # noqa: F401 (the stash key names it)

MARKER = "lambda_function"
MARKER_KEYS: dict[str, str] = {"image": "the image to run (a tag, digest or LambdaImage; also the first argument)"}
# Functions a test used, with the invoke count when it began (None: the
# container is the test's own, so its whole log belongs to the test).
_USED = pytest.StashKey["list[tuple[LambdaFunction, int | None]]"]()
_LOOKAHEAD = pytest.StashKey["Lookahead"]()
_UPCOMING = pytest.StashKey["list[pytest.Item]"]()  # the items pytest runs after this one


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    option.add_options(parser, OPTIONS)


def pytest_configure(config: pytest.Config) -> None:
    from .._runtime.settings import FunctionConfig

    fields = sorted(set(FunctionConfig.__dataclass_fields__) - {"labels", "rie_path"})
    keys = sorted(set(plugin_keys(config)) - {"image"})
    config.addinivalue_line(
        "markers",
        f"{MARKER}(image=None, **settings): run this test's `lambda_function` in its own container with these "
        f"settings ({', '.join(fields)}; from plugins: {', '.join(keys) or 'none'})",
    )
    config.stash[session.ENGINES] = []


@pytest.hookimpl(trylast=True, optionalhook=True)
def pytest_lambda_marker_keys() -> dict[str, str]:
    return MARKER_KEYS


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    # First: a start under way must not outlive the plugins' cleanup, nor the engine's.
    if _LOOKAHEAD in session.config.stash:
        session.config.stash[_LOOKAHEAD].close()


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """Last, after every plugin closed what it started: remove whatever this
    process started, tracked or not (also after Ctrl-C and internal errors)."""
    if _LOOKAHEAD in config.stash:  # a session that never finished
        config.stash[_LOOKAHEAD].close()
    engines = config.stash.get(session.ENGINES, [])
    if engines:
        from .._runtime import cleanup

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
        depth = session.resolve(item.config).lookahead
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
    failure = call.excinfo.value if call.excinfo is not None else None
    if isinstance(failure, pytest.fail.Exception) and session.engine_failure_again(item.config, str(failure.msg)):
        report.longrepr = session.ENGINE_FAILURE_AGAIN
    if report.failed and call.when in ("setup", "call"):
        for function, mark in item.stash.get(_USED, []):
            with contextlib.suppress(Exception):
                text = function.logs() if mark is None else "\n".join(function.collector.lines_from(mark))
                if text:
                    report.sections.append((f"lambda function log: {function.function_name}", text))
    return report


def _look_ahead(items: list[pytest.Item]) -> None:
    for item in items:
        _start_ahead(item)


def _start_ahead(item: pytest.Item) -> None:
    """Start the fresh container a marked test will ask for while the tests
    before it run. Only with what the session already has (engine, image,
    plugins' backends): looking ahead never builds, pulls or starts a backend."""
    config = item.config
    marker = item.get_closest_marker(MARKER)
    if marker is None or not config.stash.get(session.ENGINES, None):
        return
    from .factories import plan_function
    from .lookahead import Lookahead

    settings = dict(marker.kwargs)
    image = marker.args[0] if marker.args else settings.pop("image", None)
    if image is None:
        image = session.known_image(config)
        if image is None or isinstance(image, LambdaImageError):
            return
    try:
        plan = plan_function(config, image, settings, item, ahead=True)
    except (LambdaImageError, hookspecs.NotReady, TypeError, ValueError):
        return  # the test itself reports a bad setting, or starts what it needs
    engine = session.session_engine(config)
    pull = session.resolve(config).pull
    lookahead = config.stash.setdefault(_LOOKAHEAD, Lookahead())
    lookahead.offer(item.nodeid, plan.key, lambda: plan.make(config, engine, pull))


def _note_use(item: pytest.Item) -> Callable[[LambdaFunction], None]:
    """Remember a test's own functions, so a failure report carries their logs."""
    return lambda function: item.stash.setdefault(_USED, []).append((function, None))


# -- fixtures --------------------------------------------------------------------


@pytest.fixture(scope="session")
def lambda_settings(pytestconfig: pytest.Config) -> PluginSettings:
    """The plugin's settings from CLI options, ini options and environment."""
    return or_fail(lambda: session.resolve(pytestconfig))


@pytest.fixture(scope="session")
def lambda_engine(pytestconfig: pytest.Config) -> DockerEngine:
    """The Docker engine connection shared by the session."""
    return or_fail(lambda: session.session_engine(pytestconfig))


@pytest.fixture(scope="session")
def lambda_image(pytestconfig: pytest.Config, lambda_settings: PluginSettings) -> LambdaImage:
    """The configured function image: `--lambda-image`, or built from
    `lambda_dockerfile` (once per session, shared by xdist workers)."""
    return or_fail(lambda: session.session_image(pytestconfig))


@pytest.fixture
def lambda_function_factory(request: pytest.FixtureRequest, lambda_engine: DockerEngine) -> Iterator[FunctionFactory]:
    """`lambda_function_factory(image=None, **settings)` starts a function
    (default: the configured image) and removes it when the test ends."""
    from .factories import FunctionFactory

    factory = FunctionFactory(
        request.config,
        lambda_engine,
        lambda: request.getfixturevalue("lambda_image"),
        request.node,
        _note_use(request.node),
    )
    yield factory
    factory.close()


@pytest.fixture(scope="session")
def _lambda_shared_function(
    pytestconfig: pytest.Config, lambda_engine: DockerEngine, lambda_image: LambdaImage
) -> Iterator[SharedFunction]:
    from .factories import SharedFunction

    shared = SharedFunction(pytestconfig, lambda_engine, lambda: lambda_image)
    yield shared
    shared.close()


@pytest.fixture
def lambda_function(request: pytest.FixtureRequest, lambda_settings: PluginSettings) -> Iterator[LambdaFunction]:
    """The configured function, running under the RIE. Tests share one warm
    container (as Lambda reuses one), unless marked with
    `@pytest.mark.lambda_function(**settings)`: such a test gets a fresh
    container with those settings, for that test alone (a bare
    `@pytest.mark.lambda_function()` too: a cold start)."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        shared: SharedFunction = request.getfixturevalue("_lambda_shared_function")
        function = or_fail(lambda: shared.get(request.node))
        request.node.stash.setdefault(_USED, []).append((function, function.collector.issued))
        yield function
        return
    from .factories import FunctionFactory

    settings = dict(marker.kwargs)
    image = marker.args[0] if marker.args else settings.pop("image", None)
    factory = FunctionFactory(
        request.config,
        request.getfixturevalue("lambda_engine"),
        lambda: request.getfixturevalue("lambda_image"),
        request.node,
        _note_use(request.node),
        (request.config.stash[_LOOKAHEAD], request.node.nodeid) if _LOOKAHEAD in request.config.stash else None,
    )
    try:
        function = or_fail(lambda: factory(image, **settings))
        yield function
    finally:
        factory.close()
