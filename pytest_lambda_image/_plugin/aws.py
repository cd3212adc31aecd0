"""The AWS backend plugin (`lambda_aws`): moto's server (or an endpoint such
as LocalStack's) that the functions talk to. Its options, the `lambda_aws`
and `lambda_aws_backend` fixtures, and each function's variables and network
for the backend (through pytest_lambda_plan)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

from ..errors import ConfigError, LambdaImageError
from . import option, session
from .hookspecs import NotReady
from .once import once
from .option import Option
from .plans import FunctionDraft
from .reporting import or_fail

if TYPE_CHECKING:
    from ..aws import AwsBackend

AWS = Option(
    "lambda_aws",
    "give every function an AWS backend: moto (moto's server, started by the plugin) or the URL of an endpoint such "
    "as LocalStack's; unset: only tests that use the lambda_aws fixture get one",
    metavar="moto|URL",
)
ISOLATION = Option(
    "lambda_aws_isolation",
    "test (moto is reset before each test that uses it) or session",
    metavar="test|session",
    default="test",
)
SERVER = Option(
    "lambda_aws_server",
    "where moto runs: auto (in this process when the Docker engine is local, else in a container), process or "
    "container",
    metavar="WHERE",
    default="auto",
)
IMAGE = Option(
    "lambda_aws_image",
    "moto's image for lambda_aws_server = container",
    metavar="IMAGE",
    default="motoserver/moto:latest",
)
OPTIONS = (AWS, ISOLATION, SERVER, IMAGE)


def pytest_addoption(parser: pytest.Parser) -> None:
    option.add_options(parser, OPTIONS)


FIXTURES = ("lambda_aws", "lambda_aws_backend")
_SETTINGS = pytest.StashKey["AwsSettings | LambdaImageError"]()
_BACKEND = pytest.StashKey["AwsBackend | LambdaImageError"]()
_READY = pytest.StashKey[bool]()  # the test's backend was reset (isolation = test)


@dataclass(frozen=True)
class AwsSettings:
    aws: str | None = None  # "moto" or an endpoint URL: every function gets the backend
    isolation: str = "test"
    server: str = "auto"
    image: str = "motoserver/moto:latest"


@pytest.hookimpl(optionalhook=True)  # the core plugin declares it; it may be switched off
def pytest_lambda_settings(config: pytest.Config, draft: Any) -> None:
    aws_settings(config)  # a bad value fails the session's settings, as every setting does


def aws_settings(config: pytest.Config) -> AwsSettings:
    return once(config.stash, _SETTINGS, lambda: _resolve(config))


def _resolve(config: pytest.Config) -> AwsSettings:
    aws = option.value(config, AWS)
    if aws is not None:
        aws = str(aws).strip()
        if aws.lower() in ("off", "false", "none", "no"):
            aws = None
        elif aws.lower() == "moto":
            aws = "moto"
        elif not aws.startswith(("http://", "https://")):
            raise ConfigError(f"invalid lambda_aws {aws!r}: use moto, or an endpoint URL such as http://localhost:4566")
    isolation = str(option.value(config, ISOLATION, "test")).strip().lower()
    if isolation not in ("test", "session"):
        raise ConfigError(f"invalid lambda_aws_isolation {isolation!r}: use test or session")
    server = str(option.value(config, SERVER, "auto")).strip().lower()
    if server not in ("auto", "process", "container"):
        raise ConfigError(f"invalid lambda_aws_server {server!r}: use auto, process or container")
    return AwsSettings(aws, isolation, server, option.value(config, IMAGE, "motoserver/moto:latest"))


def session_aws(config: pytest.Config) -> AwsBackend:
    """The session's AWS backend (per xdist worker), started on first use."""

    def start() -> AwsBackend:
        from ..aws import start_backend

        settings = aws_settings(config)
        return start_backend(
            session.session_engine(config),
            settings.aws,
            session.resolve(config).function.region,
            server=settings.server,
            image=settings.image,
            pull=session.resolve(config).pull,
        )

    return once(config.stash, _BACKEND, start)


def _test_aws(config: pytest.Config, node: pytest.Item) -> AwsBackend:
    """The backend for this test: reset once before the test when isolation
    is per test (moto only: an external endpoint keeps its state)."""
    backend = session_aws(config)
    if not node.stash.get(_READY, False):
        node.stash[_READY] = True
        if backend.kind == "moto" and aws_settings(config).isolation == "test":
            backend.reset()
    return backend


@pytest.hookimpl(optionalhook=True)  # the core plugin declares it; it may be switched off
def pytest_lambda_plan(config: pytest.Config, draft: FunctionDraft) -> None:
    """Every test's functions talk to the backend when lambda_aws is
    configured, else only those of tests that use its fixtures."""
    uses = draft.node is not None and any(name in getattr(draft.node, "fixturenames", ()) for name in FIXTURES)
    if aws_settings(config).aws is None and not uses:
        return
    if draft.ahead:
        found = config.stash.get(_BACKEND, None)
        if found is None or isinstance(found, LambdaImageError):
            raise NotReady("the AWS backend is not started yet")
        backend = found
    elif draft.node is None:
        backend = session_aws(config)
    else:
        backend = _test_aws(config, draft.node)
    draft.env = {**draft.env, **backend.environment()}
    draft.network = backend.network


def pytest_unconfigure(config: pytest.Config) -> None:
    backend = config.stash.get(_BACKEND, None)
    if backend is not None and not isinstance(backend, LambdaImageError):
        backend.close()


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
    return or_fail(lambda: _test_aws(request.config, request.node))
