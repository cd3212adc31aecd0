"""The session's shared state, made on first use: the resolved settings, the
engine connection and the configured image. Capability plugins reach them
through these functions; nothing here knows a capability."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ..errors import ConfigError, DockerUnavailableError, LambdaImageError
from . import option
from .once import once
from .option import Option, Value
from .plans import DEFAULT_LOOKAHEAD, ImageChoice, PluginSettings, SettingsDraft, configured_image

if TYPE_CHECKING:
    from .._runtime.engine import DockerEngine
    from .._runtime.image import LambdaImage

PULL_POLICIES = ("missing", "always", "never")
MAX_LOOKAHEAD = 8
# The core's options: the image to test and how its functions run.
IMAGE = Option(
    "lambda_image",
    "function image tag or digest to test (instead of building)",
    metavar="TAG",
    env="PYTEST_LAMBDA_IMAGE",
)
PULL = Option(
    "lambda_pull", "when to pull lambda_image: missing, always or never", choices=PULL_POLICIES, default="missing"
)
RIE = Option(
    "lambda_rie",
    "the aws-lambda-rie binary (or a directory of aws-lambda-rie-<arch>) for images without one",
    metavar="PATH",
    env="PYTEST_LAMBDA_RIE",
)
ENV = Option(
    "lambda_env",
    "function environment variables, one KEY=VALUE per line",
    kind="linelist",
    flag="--lambda-env",
    metavar="KEY=VALUE",
)
LOOKAHEAD = Option(
    "lambda_lookahead",
    "how many upcoming marked tests get their fresh container started ahead (0 or false: none)",
    metavar="N",
    default=str(DEFAULT_LOOKAHEAD),
)
# ini name -> FunctionConfig field, for the plain function settings.
FUNCTION_FIELDS = {
    "lambda_handler": ("handler", "handler override (replaces the image's CMD)", None),
    "lambda_timeout": ("timeout", "function timeout in whole seconds", "3"),
    "lambda_memory_size": ("memory_size", "function memory size in MB", "128"),
    "lambda_function_name": ("function_name", "function name", "from the image name"),
    "lambda_region": ("region", "AWS region name (AWS_REGION / AWS_DEFAULT_REGION inside the function)", "us-east-1"),
    "lambda_fidelity": (
        "fidelity",
        "run functions like Lambda: user, read-only root, /tmp, memory; false: a plain docker run",
        "true",
    ),
    "lambda_user": ("user", "uid:gid functions run as under fidelity", "993:990, Lambda's"),
    "lambda_ephemeral_storage": ("ephemeral_storage", "size of /tmp in MB, 512-10240", "512"),
    "lambda_cpu_scaling": (
        "cpu_scaling",
        "CPU quota in proportion to memory under fidelity, as Lambda (1,769 MB = 1 vCPU); false: all the host's",
        "true",
    ),
    "lambda_log_format": ("log_format", "AWS_LAMBDA_LOG_FORMAT: Text or JSON", None),
    "lambda_log_level": ("log_level", "AWS_LAMBDA_LOG_LEVEL: TRACE, DEBUG, INFO, WARN, ERROR or FATAL", None),
}
FUNCTION_OPTIONS = tuple(Option(name, text, default=default) for name, (_, text, default) in FUNCTION_FIELDS.items())
OPTIONS = (IMAGE, PULL, RIE, ENV, *FUNCTION_OPTIONS, LOOKAHEAD)

_RESOLVED: pytest.StashKey[PluginSettings | LambdaImageError] = pytest.StashKey()
ENGINES = pytest.StashKey["list[DockerEngine]"]()
_ENGINE_FAILURE = pytest.StashKey[str]()  # why the engine could not be reached
_ENGINE_FAILURE_TOLD = pytest.StashKey[bool]()
ENGINE_FAILURE_AGAIN = "Docker is unreachable (said in full at the first test that needed it)"
_IMAGE = pytest.StashKey["LambdaImage | LambdaImageError"]()
# A writer of one build's progress, given what is built (set by the build plugin when there is a terminal).
BUILD_PROGRESS = pytest.StashKey["Callable[[str], Callable[[str], None]]"]()


def resolve(config: pytest.Config) -> PluginSettings:
    """The session's settings, read once: CLI, ini and environment by the
    core's options, then refined by the plugins (pytest_lambda_settings).
    Raises ConfigError with the option's name (the same one each time)."""
    return once(config.stash, _RESOLVED, lambda: _resolve(config))


def _resolve(config: pytest.Config) -> PluginSettings:
    draft = SettingsDraft(config)
    image = option.read(config, IMAGE)
    if image is not None:
        draft.choices.append(ImageChoice(image.source, ref=str(image.value), name=IMAGE.name))
    pull = option.value(config, PULL, "missing")
    if pull not in PULL_POLICIES:
        raise ConfigError(f"invalid lambda_pull {pull!r}: use one of {', '.join(PULL_POLICIES)}")
    draft.pull = pull
    draft.function = function_fields(config)
    draft.lookahead = parse_lookahead(option.value(config, LOOKAHEAD))
    config.hook.pytest_lambda_settings(config=config, draft=draft)
    return draft.finish()


def function_fields(config: pytest.Config) -> dict[str, Any]:
    """The FunctionConfig fields the core's options set."""
    from .._runtime.settings import parse_key_values

    fields: dict[str, Any] = {"env": parse_key_values(option.value(config, ENV), "lambda_env entry")}
    rie = option.read(config, RIE)
    if rie is not None:
        fields["rie_path"] = str(resolve_path(config, rie))
    for each in FUNCTION_OPTIONS:
        found = option.value(config, each)
        if found is not None:
            fields[FUNCTION_FIELDS[each.name][0]] = found
    return fields


def resolve_path(config: pytest.Config, value: Value) -> Path:
    """A path option: relative to the ini file's directory when it came from
    there, else to the directory pytest was started in."""
    return (base_dir(config, value) / os.path.expanduser(str(value.value))).resolve()


def base_dir(config: pytest.Config, value: Value) -> Path:
    if value.from_ini:
        return config.inipath.parent if config.inipath else config.rootpath
    return Path(config.invocation_params.dir)


def parse_lookahead(value: Any) -> int:
    """A number of tests, or true (the default) / false (0)."""
    from .._runtime.settings import parse_bool

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


def session_engine(config: pytest.Config) -> DockerEngine:
    """The session's engine connection, made on first use (by a fixture or
    by the audit gate) and closed at the end of the session."""
    engines = config.stash[ENGINES]
    if not engines:
        from .._runtime import cleanup
        from .._runtime.engine import DockerEngine

        if _ENGINE_FAILURE in config.stash:  # not tried again: every later test would wait on it too
            raise DockerUnavailableError(config.stash[_ENGINE_FAILURE])
        try:
            engine = DockerEngine.connect()
        except DockerUnavailableError as exc:
            config.stash[_ENGINE_FAILURE] = str(exc)
            raise
        engines.append(engine)
        # From here on this process owns containers: a cancelled CI job (SIGTERM)
        # must unwind like Ctrl-C so that they are removed.
        cleanup.sigterm_as_interrupt()
        cleanup.reap_stale(engine.client)
    return engines[0]


def engine_failure_again(config: pytest.Config, message: str) -> bool:
    """Whether a test's failure `message` is the engine's failure told
    before: said in full once per session, every later test reports it in
    one short line (ENGINE_FAILURE_AGAIN)."""
    if config.stash.get(_ENGINE_FAILURE, None) != message:
        return False
    if config.stash.get(_ENGINE_FAILURE_TOLD, False):
        return True
    config.stash[_ENGINE_FAILURE_TOLD] = True
    return False


def session_image(config: pytest.Config) -> LambdaImage:
    """The configured function image, built or looked up once per session
    (a failure too: every test and audit item reports it without rebuilding)."""

    def make() -> LambdaImage:
        settings = resolve(config)
        progress = config.stash.get(BUILD_PROGRESS, None)
        writer = progress(str(settings.build.dockerfile_path)) if progress and settings.build else None
        return configured_image(settings, session_engine(config), writer)

    return once(config.stash, _IMAGE, make)


def known_image(config: pytest.Config) -> LambdaImage | LambdaImageError | None:
    """The configured image if the session already has it (or its failure)."""
    return config.stash.get(_IMAGE, None)


def announcer(config: pytest.Config) -> Callable[[str], None]:
    """A line on the terminal past pytest's output capture (while a test
    waits, e.g. for a debugger), or on stderr without a terminal."""

    def announce(line: str) -> None:
        capture, reporter = (config.pluginmanager.get_plugin(name) for name in ("capturemanager", "terminalreporter"))
        if capture is None or reporter is None:
            import sys

            print(line, file=sys.stderr, flush=True)
            return
        with capture.global_and_fixture_disabled():
            reporter.write_line(line, yellow=True)

    return announce
