"""Validated settings: what image to use and how to run it.

Values come from (highest first) CLI options, the `lambda_function` marker,
ini options (pyproject.toml / pytest.ini), PYTEST_LAMBDA_* environment
variables, then defaults; the pytest tier (`_plugin/`) does the layering, this module only
holds and checks the values.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .._lambda import (
    DEFAULT_EPHEMERAL_MB,
    DEFAULT_MEMORY_MB,
    DEFAULT_REGION,
    DEFAULT_TIMEOUT_S,
    LAMBDA_USER,
    LOG_FORMATS,
    LOG_LEVELS,
    MAX_ENV_BYTES,
    MAX_EPHEMERAL_MB,
    MAX_MEMORY_MB,
    MAX_TIMEOUT_S,
    MIN_EPHEMERAL_MB,
    MIN_MEMORY_MB,
    REGION_NAME,
    RESERVED_ENV,
    env_bytes,
)
from ..errors import ConfigError

# What each reserved name is set from instead.
_RESERVED_HINT = {
    "AWS_REGION": "use the region setting (lambda_region)",
    "AWS_DEFAULT_REGION": "use the region setting (lambda_region)",
    "AWS_LAMBDA_FUNCTION_NAME": "use the function_name setting (lambda_function_name)",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "use the memory_size setting (lambda_memory_size)",
    "_HANDLER": "use the handler setting (lambda_handler)",
    "AWS_LAMBDA_FUNCTION_HANDLER": "use the handler setting (lambda_handler)",
    "AWS_LAMBDA_FUNCTION_TIMEOUT": "use the timeout setting (lambda_timeout)",
}
PullPolicy = Literal["missing", "always", "never"]
_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ENV_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def parse_timeout(value: Any) -> int:
    """Whole seconds, 1..900: the RIE reads AWS_LAMBDA_FUNCTION_TIMEOUT as an
    integer and a value like "2.5" breaks every request."""
    number = whole_number(value)
    if number is None or not 1 <= number <= MAX_TIMEOUT_S:
        raise ConfigError(
            f"invalid function timeout {value!r}: use a whole number of seconds from 1 to {MAX_TIMEOUT_S}"
        )
    return number


def parse_memory_size(value: Any) -> int:
    number = whole_number(value)
    if number is None or not MIN_MEMORY_MB <= number <= MAX_MEMORY_MB:
        raise ConfigError(
            f"invalid memory size {value!r}: use a whole number of MB from {MIN_MEMORY_MB} to {MAX_MEMORY_MB}"
        )
    return number


def parse_ephemeral_storage(value: Any) -> int:
    number = whole_number(value)
    if number is None or not MIN_EPHEMERAL_MB <= number <= MAX_EPHEMERAL_MB:
        raise ConfigError(
            f"invalid ephemeral storage {value!r}: use a whole number of MB from {MIN_EPHEMERAL_MB} "
            f"to {MAX_EPHEMERAL_MB} (Lambda's /tmp sizes)"
        )
    return number


def parse_bool(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"invalid {what} {value!r}: use true or false")


def parse_user(value: Any) -> tuple[int, int]:
    """`uid:gid` (numbers: the image's /etc/passwd is not consulted, as on
    Lambda, and FROM-scratch images have none)."""
    text = str(value).strip()
    uid, sep, gid = text.partition(":")
    if not (uid.isdigit() and (not sep or gid.isdigit())):
        raise ConfigError(f"invalid user {value!r}: give numeric uid:gid such as {LAMBDA_USER!r}")
    return int(uid), int(gid if sep else uid)


def parse_choice(value: Any, choices: tuple[str, ...], what: str) -> str:
    for choice in choices:
        if str(value).strip().lower() == choice.lower():
            return choice
    raise ConfigError(f"invalid {what} {value!r}: use one of {', '.join(choices)}")


def whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def parse_argv(value: Any, what: str) -> tuple[str, ...] | None:
    """ImageConfig's EntryPoint / Command: a list of strings (a string is one word)."""
    if value is None:
        return None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, (list, tuple)) and all(isinstance(item, (str, int, float)) for item in value):
        return tuple(str(item) for item in value)
    raise ConfigError(f"invalid {what} {value!r}: give a list of strings")


def parse_key_values(items: Iterable[str] | Mapping[str, Any] | None, what: str) -> dict[str, str]:
    """`KEY=VALUE` lines (ini linelist / repeated CLI option) or a mapping -> dict of strings."""
    if not items:
        return {}
    if isinstance(items, Mapping):
        pairs = list(items.items())
    else:
        pairs = []
        for item in items:
            item = item.strip()
            if not item or item.startswith("#"):
                continue
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise ConfigError(f"invalid {what} {item!r}: write it as KEY=VALUE")
            pairs.append((key.strip(), value.strip()))
    result = {}
    for key, value in pairs:
        if value is None or isinstance(value, (dict, list, tuple, set)):
            raise ConfigError(f"invalid {what} {key}={value!r}: values must be strings or numbers")
        result[str(key)] = str(value).lower() if isinstance(value, bool) else str(value)
    return result


@dataclass(frozen=True)
class FunctionConfig:
    """How one function container runs. Every field is checked on creation,
    so a bad value fails before any container starts."""

    env: Mapping[str, str] = field(default_factory=dict)
    handler: str | None = None
    timeout: int = DEFAULT_TIMEOUT_S
    memory_size: int = DEFAULT_MEMORY_MB
    function_name: str | None = None  # default: from the image name
    region: str = DEFAULT_REGION
    rie_path: str | None = None
    pass_aws_credentials: bool = False  # the host's AWS_* keys go in only when asked for
    labels: Mapping[str, str] = field(default_factory=dict)
    # Run like Lambda (sandbox.py): its user, a read-only root, /tmp on disk,
    # a memory limit, CPU, fds and processes, Lambda's environment. False: a plain `docker run`.
    fidelity: bool = True
    user: str = LAMBDA_USER
    ephemeral_storage: int = DEFAULT_EPHEMERAL_MB  # MB of /tmp, as Lambda's EphemeralStorage
    # CPU in proportion to memory, as Lambda (1,769 MB = one vCPU), under fidelity.
    cpu_scaling: bool = True
    log_format: str | None = None  # AWS_LAMBDA_LOG_FORMAT: Text or JSON
    log_level: str | None = None  # AWS_LAMBDA_LOG_LEVEL, read by the runtime clients
    # Lambda's ImageConfig: replace the image's ENTRYPOINT, CMD and WORKDIR.
    entrypoint: tuple[str, ...] | None = None
    command: tuple[str, ...] | None = None
    working_dir: str | None = None

    def __post_init__(self) -> None:
        env = parse_key_values(self.env, "environment variable")
        object.__setattr__(self, "fidelity", parse_bool(self.fidelity, "lambda_fidelity"))
        for name in env:
            if self.fidelity and name in RESERVED_ENV:
                hint = _RESERVED_HINT.get(name, "Lambda sets it")
                raise ConfigError(
                    f"environment variable {name} is reserved by Lambda and cannot be set ({hint}; "
                    "or set lambda_fidelity = false)"
                )
            if not _ENV_NAME.match(name):
                raise ConfigError(f"invalid environment variable name {name!r}: use letters, digits and _")
        object.__setattr__(self, "cpu_scaling", parse_bool(self.cpu_scaling, "cpu_scaling"))
        object.__setattr__(self, "ephemeral_storage", parse_ephemeral_storage(self.ephemeral_storage))
        uid, gid = parse_user(self.user)
        object.__setattr__(self, "user", f"{uid}:{gid}")
        if self.log_format is not None:
            object.__setattr__(self, "log_format", parse_choice(self.log_format, LOG_FORMATS, "log format"))
        if self.log_level is not None:
            object.__setattr__(self, "log_level", parse_choice(self.log_level, LOG_LEVELS, "log level"))
        if self.fidelity:
            if uid == 0:
                raise ConfigError(
                    f"user {self.user!r} is root; Lambda never runs functions as root: pick a non-root "
                    f"uid:gid (default {LAMBDA_USER}) or set lambda_fidelity = false"
                )
        size = env_bytes(env.items())
        if size > MAX_ENV_BYTES:
            raise ConfigError(
                f"environment variables take {size} bytes; Lambda refuses a configuration over {MAX_ENV_BYTES} "
                "bytes (names and values): shorten them or move large values into the image or a file"
            )
        object.__setattr__(self, "env", env)
        object.__setattr__(self, "timeout", parse_timeout(self.timeout))
        object.__setattr__(self, "memory_size", parse_memory_size(self.memory_size))
        if not isinstance(self.region, str) or not REGION_NAME.fullmatch(self.region):
            raise ConfigError(
                f"invalid region {self.region!r}: give an AWS region name such as {DEFAULT_REGION} or eu-west-1"
            )
        if self.function_name is not None and not _FUNCTION_NAME.match(self.function_name):
            raise ConfigError(
                f"invalid function name {self.function_name!r}: 1-64 letters, digits, hyphens or underscores"
            )
        if self.handler is not None and (not isinstance(self.handler, str) or not self.handler.strip()):
            raise ConfigError(f"invalid handler {self.handler!r}: give a non-empty string such as 'app.handler'")
        for name in ("entrypoint", "command"):
            object.__setattr__(self, name, parse_argv(getattr(self, name), name))
        if self.working_dir is not None and not str(self.working_dir).startswith("/"):
            raise ConfigError(f"invalid working_dir {self.working_dir!r}: give an absolute path in the image")

    def replace(self, **changes: Any) -> FunctionConfig:
        """A copy with `changes`; `env` is merged, not replaced."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ConfigError(f"unknown function setting(s): {', '.join(sorted(unknown))}")
        if "env" in changes:
            changes["env"] = {**self.env, **parse_key_values(changes["env"], "environment variable")}
        return dataclasses.replace(self, **changes)
