"""Validated settings: what image to use and how to run it.

Values come from (highest first) CLI options, the `lambda_function` marker,
ini options (pyproject.toml / pytest.ini), PYTEST_LAMBDA_* environment
variables, then defaults; `plugin.py` does the layering, this module only
holds and checks the values.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .errors import ConfigError

MAX_TIMEOUT_S = 900
MIN_MEMORY_MB, MAX_MEMORY_MB = 128, 10240
MAX_ENV_BYTES = 4096
PullPolicy = Literal["missing", "always", "never"]
PLATFORMS = ("linux/amd64", "linux/arm64")
_FUNCTION_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_ENV_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")


def parse_timeout(value: Any) -> int:
    """Whole seconds, 1..900: the RIE reads AWS_LAMBDA_FUNCTION_TIMEOUT as an
    integer and a value like "2.5" breaks every request."""
    number = _whole_number(value)
    if number is None or not 1 <= number <= MAX_TIMEOUT_S:
        raise ConfigError(
            f"invalid function timeout {value!r}: use a whole number of seconds from 1 to {MAX_TIMEOUT_S}"
        )
    return number


def parse_memory_size(value: Any) -> int:
    number = _whole_number(value)
    if number is None or not MIN_MEMORY_MB <= number <= MAX_MEMORY_MB:
        raise ConfigError(
            f"invalid memory size {value!r}: use a whole number of MB from {MIN_MEMORY_MB} to {MAX_MEMORY_MB}"
        )
    return number


def _whole_number(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


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
class BuildSpec:
    """How to build a function image from a Dockerfile."""

    context: Path
    dockerfile: Path | None = None  # default: <context>/Dockerfile
    target: str | None = None
    build_args: Mapping[str, str] = field(default_factory=dict)
    platform: str | None = None
    tag: str | None = None  # default: pytest-lambda-image/<context name>:<inputs hash>

    def __post_init__(self) -> None:
        object.__setattr__(self, "context", Path(self.context))
        if self.dockerfile is not None:
            object.__setattr__(self, "dockerfile", Path(self.dockerfile))
        object.__setattr__(self, "build_args", parse_key_values(self.build_args, "build arg"))
        if self.platform is not None and self.platform not in PLATFORMS:
            raise ConfigError(f"invalid platform {self.platform!r}: Lambda runs {' or '.join(PLATFORMS)}")

    @property
    def dockerfile_path(self) -> Path:
        if self.dockerfile is None:
            return self.context / "Dockerfile"
        return self.dockerfile if self.dockerfile.is_absolute() else self.context / self.dockerfile


@dataclass(frozen=True)
class FunctionConfig:
    """How one function container runs. Every field is checked on creation,
    so a bad value fails before any container starts."""

    env: Mapping[str, str] = field(default_factory=dict)
    handler: str | None = None
    timeout: int = 3  # Lambda's default
    memory_size: int = 128  # Lambda's default
    function_name: str | None = None  # default: from the image name
    region: str = "us-east-1"
    rie_path: str | None = None
    pass_aws_credentials: bool = False  # the host's AWS_* keys go in only when asked for
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        env = parse_key_values(self.env, "environment variable")
        for name in env:
            if not _ENV_NAME.match(name):
                raise ConfigError(f"invalid environment variable name {name!r}: use letters, digits and _")
        size = sum(len(k) + len(v) for k, v in env.items())
        if size > MAX_ENV_BYTES:
            raise ConfigError(f"environment variables take {size} bytes; Lambda allows {MAX_ENV_BYTES}")
        object.__setattr__(self, "env", env)
        object.__setattr__(self, "timeout", parse_timeout(self.timeout))
        object.__setattr__(self, "memory_size", parse_memory_size(self.memory_size))
        if self.function_name is not None and not _FUNCTION_NAME.match(self.function_name):
            raise ConfigError(
                f"invalid function name {self.function_name!r}: 1-64 letters, digits, hyphens or underscores"
            )
        if self.handler is not None and (not isinstance(self.handler, str) or not self.handler.strip()):
            raise ConfigError(f"invalid handler {self.handler!r}: give a non-empty string such as 'app.handler'")

    def replace(self, **changes: Any) -> FunctionConfig:
        """A copy with `changes`; `env` is merged, not replaced."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ConfigError(f"unknown function setting(s): {', '.join(sorted(unknown))}")
        if "env" in changes:
            changes["env"] = {**self.env, **parse_key_values(changes["env"], "environment variable")}
        return dataclasses.replace(self, **changes)
