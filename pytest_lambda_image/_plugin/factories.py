"""What the core's fixtures hand to tests: the function factory and the
session's shared function. core.py wires them to pytest and imports this
module only when a test asks for one."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from . import session
from .plans import FunctionDraft, FunctionPlan, split_keys

if TYPE_CHECKING:
    from .._runtime.engine import DockerEngine
    from .._runtime.function import LambdaFunction
    from .._runtime.image import LambdaImage
    from .lookahead import Lookahead


def plan_function(
    config: pytest.Config,
    image: str | LambdaImage | None,
    settings: dict[str, Any],
    node: pytest.Item | None,
    *,
    ahead: bool = False,
    default_image: Callable[[], LambdaImage] | None = None,
) -> FunctionPlan:
    """The plan of a function for `node`, drafted by the plugins."""
    overrides, keys = split_keys(config, settings)
    draft = FunctionDraft(
        config,
        session.resolve(config),
        session.session_engine(config),
        image,
        overrides,
        keys,
        node=node,
        ahead=ahead,
    )
    config.hook.pytest_lambda_plan(config=config, draft=draft)
    return draft.finish(default_image or (lambda: session.session_image(config)))


class FunctionFactory:
    """Starts functions; every one is removed when the owning fixture ends.
    With a `lookahead` (and the test it serves), a container started ahead
    with the same settings is taken instead of starting one."""

    def __init__(
        self,
        config: pytest.Config,
        engine: DockerEngine,
        default_image: Callable[[], LambdaImage],
        node: pytest.Item | None = None,
        on_start: Callable[[LambdaFunction], None] | None = None,
        lookahead: tuple[Lookahead, str] | None = None,
    ) -> None:
        self._config = config
        self._engine = engine
        self._default_image = default_image  # resolved only when needed
        self._node = node
        self._on_start = on_start  # e.g. note the function for the test's failure report
        self._started: list[LambdaFunction] = []
        self._lookahead = lookahead

    def plan(self, image: str | LambdaImage | None, settings: dict[str, Any]) -> FunctionPlan:
        return plan_function(self._config, image, settings, self._node, default_image=self._default_image)

    def __call__(self, image: str | LambdaImage | None = None, **settings: Any) -> LambdaFunction:
        __tracebackhide__ = True
        plan = self.plan(image, dict(settings))
        function = None
        if self._lookahead is not None:
            lookahead, owner = self._lookahead
            function = lookahead.take(owner, plan.key)
        if function is None:
            function = plan.make(self._config, self._engine, session.resolve(self._config).pull)
        self._started.append(function)
        if self._on_start is not None:
            self._on_start(function)
        return function.start()  # a no-op for one started ahead

    def close(self) -> None:
        while self._started:
            self._started.pop().stop(background=True)  # off the test's clock


class SharedFunction:
    """The session's default function containers, (re)started on demand: one
    per distinct plan (e.g. one for tests without the AWS backend, one for
    tests with it)."""

    def __init__(self, config: pytest.Config, engine: DockerEngine, image: Callable[[], LambdaImage]) -> None:
        self._config = config
        self._engine = engine
        self._image = image
        self._functions: dict[str, LambdaFunction] = {}

    def get(self, node: pytest.Item | None = None) -> LambdaFunction:
        plan = plan_function(self._config, None, {}, node, default_image=self._image)
        function = self._functions.get(plan.key)
        if function is not None and not function.is_running():
            function.stop()  # it died (e.g. killed from outside): start afresh
            function = None
        if function is None:
            function = plan.make(self._config, self._engine, session.resolve(self._config).pull)
            self._functions[plan.key] = function
            function.start()
        return function

    def close(self) -> None:
        while self._functions:
            self._functions.popitem()[1].stop(background=True)
