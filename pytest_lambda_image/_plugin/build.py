"""The build plugin (`lambda_build`): the function image built from a
Dockerfile. Its options (the Dockerfile, context, target, build arguments,
platform, builder, secrets, SSH, images kept), the `lambda_image_factory`
fixture, the build's progress on the terminal and its summary line."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from ..errors import ConfigError
from . import option, session
from .option import Option
from .plans import ImageChoice, SettingsDraft
from .reporting import or_fail
from .session import known_image

if TYPE_CHECKING:
    from .._runtime.engine import DockerEngine
    from .._runtime.image import LambdaImage
    from .._runtime.settings import PullPolicy

DOCKERFILE = Option(
    "lambda_dockerfile", "Dockerfile to build the function image from (relative to the ini file)", metavar="PATH"
)
CONTEXT = Option("lambda_context", "build context directory", metavar="DIR", default="the Dockerfile's directory")
TARGET = Option("lambda_target", "build target stage", metavar="STAGE")
BUILD_ARGS = Option(
    "lambda_build_args",
    "build arguments, one KEY=VALUE per line",
    kind="linelist",
    flag="--lambda-build-arg",
    metavar="KEY=VALUE",
)
PLATFORM = Option("lambda_platform", "build/run platform: linux/amd64 or linux/arm64", metavar="PLATFORM")
BUILDER = Option(
    "lambda_builder",
    "auto (BuildKit via the docker CLI when there is one), buildkit or legacy",
    choices=("auto", "buildkit", "legacy"),
    default="auto",
)
DOCKER_CLI = Option(
    "lambda_docker_cli", "the docker CLI for BuildKit builds", metavar="PATH", default="docker on PATH, /usr/bin/docker"
)
SECRETS = Option(
    "lambda_build_secrets",
    "build secrets, as docker build --secret takes them: id=NAME,src=FILE or id=NAME,env=VAR",
    kind="linelist",
    flag="--lambda-build-secret",
    metavar="id=NAME,src=FILE|env=VAR",
)
SSH = Option(
    "lambda_build_ssh", "SSH for the build: default (the agent) or ID=PATH", kind="linelist", metavar="default|ID=PATH"
)
KEEP = Option(
    "lambda_keep_images", "images kept per build; older ones the plugin built are removed", metavar="N", default="3"
)
OPTIONS = (DOCKERFILE, CONTEXT, TARGET, BUILD_ARGS, PLATFORM, BUILDER, DOCKER_CLI, SECRETS, SSH, KEEP)


def pytest_addoption(parser: pytest.Parser) -> None:
    option.add_options(parser, OPTIONS)


# Before plugins that fill in only what is not explicit (the template).
@pytest.hookimpl(tryfirst=True, optionalhook=True)
def pytest_lambda_settings(config: pytest.Config, draft: SettingsDraft) -> None:
    extras = build_extras(config)
    draft.extras["build"] = extras  # what every build of the session takes, a template's too
    dockerfile = option.read(config, DOCKERFILE)
    if dockerfile is None:
        return
    path = session.resolve_path(config, dockerfile)
    # Context and target come with the Dockerfile: an ini context does not
    # apply to a Dockerfile given on the command line.
    context = option.read(config, CONTEXT, ini=dockerfile.from_ini)
    target = option.read(config, TARGET, ini=dockerfile.from_ini)
    from ..build.spec import BuildSpec

    try:
        build = BuildSpec(
            context=session.resolve_path(config, context) if context is not None else path.parent,
            dockerfile=path,
            target=target.value if target is not None else None,
            **extras,
        )
    except ConfigError as exc:
        raise ConfigError(f"{exc} (check the lambda_build* options)") from None
    draft.choices.append(ImageChoice(dockerfile.source, build=build, name=DOCKERFILE.name))


def build_extras(config: pytest.Config) -> dict[str, Any]:
    from .._runtime.settings import parse_key_values
    from ..build.spec import DEFAULT_KEEP_IMAGES

    return {
        "build_args": parse_key_values(option.value(config, BUILD_ARGS), "lambda_build_args entry"),
        "platform": option.value(config, PLATFORM),
        "secrets": tuple(option.value(config, SECRETS, ())),
        "ssh": tuple(option.value(config, SSH, ())),
        "builder": option.value(config, BUILDER, "auto"),
        "docker_cli": option.value(config, DOCKER_CLI),
        "keep": option.value(config, KEEP, DEFAULT_KEEP_IMAGES),
    }


def pytest_configure(config: pytest.Config) -> None:
    # A long build's output on the terminal (none under xdist workers, which have no terminal).
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        config.stash[session.BUILD_PROGRESS] = lambda what: _progress(reporter, what)


def _progress(reporter: Any, what: str) -> Callable[[str], None]:
    from ..build.progress import BuildProgress

    return BuildProgress(reporter.write_line, what)


# Under xdist the workers build, but only the controller has the user's
# terminal: each worker hands its line over in `workeroutput`.
_WORKER_OUTPUT = "pytest_lambda_image.build_summary"
_FROM_WORKERS = pytest.StashKey["list[tuple[str, bool]]"]()


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    output = getattr(config, "workeroutput", None)  # set on xdist workers only
    image = known_image(config)
    summary = getattr(image, "build_summary", None)
    if output is not None and summary:
        output[_WORKER_OUTPUT] = (summary, bool(getattr(image, "built", False)))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    found = getattr(node, "workeroutput", {}).get(_WORKER_OUTPUT)
    if found:
        node.config.stash.setdefault(_FROM_WORKERS, []).append((str(found[0]), bool(found[1])))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    summary = getattr(known_image(config), "build_summary", None)  # None also for a failed build
    if summary is None:
        # The worker that built says so; the others found its image ("unchanged inputs").
        found: list[tuple[str, bool]] = config.stash.get(_FROM_WORKERS, [])
        from_workers = sorted(found, key=lambda each: not each[1])
        summary = from_workers[0][0] if from_workers else None
    if summary:
        terminalreporter.write_line(f"lambda image: {summary}")


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
        keep: int = 3,
    ) -> LambdaImage:
        __tracebackhide__ = True
        from ..build import build_image
        from ..build.spec import BuildSpec

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
        from .._runtime.image import get_image

        return get_image(self._engine, ref, pull)


@pytest.fixture(scope="session")
def lambda_image_factory(lambda_engine: DockerEngine) -> ImageFactory:
    """Build (`.build(context, dockerfile=..., target=..., build_args=...)`) or
    look up / pull (`.get(ref)`) further images."""
    return ImageFactory(lambda_engine)
