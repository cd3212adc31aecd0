"""Every option of every capability plugin is declared once, as an `Option`:
its ini name, its CLI flag, the environment variable it falls back to, its
help. This module registers them with pytest and reads them, in the one
order of precedence the plugin has:

    CLI flag  >  ini option (pyproject.toml, pytest.ini, or `-o name=value`)  >  environment  >  default

For a line-list option the CLI's entries come after the ini's, so for
KEY=VALUE lists the command line wins key by key.

The rule for flags: every option has one, named after it
(`lambda_build_args` -> `--lambda-build-arg`, repeatable). A CI job can
then change any setting for one run without editing the ini file, and the
reference (docs/options) is generated from these declarations, so the two
cannot drift apart.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import pytest

from ..errors import ConfigError

Kind = Literal["string", "linelist", "switch"]
Source = Literal["cli", "ini", "env", "default"]
GROUP = "lambda-image"


@dataclass(frozen=True)
class Option:
    """One setting: `name` is the ini option; `flag` the CLI option (default:
    derived from the name); `env` an environment variable read when neither
    gives a value. `kind`: a string, a list of lines (repeatable flag) or a
    switch (a flag without a value; the ini option takes true/false).
    `default` documents the default; the capability that reads the option
    applies it."""

    name: str
    help: str
    kind: Kind = "string"
    flag: str | None = None
    metavar: str | None = None
    choices: tuple[str, ...] | None = None
    env: str | None = None
    default: str | None = None
    const: str | None = None  # the value of the flag given bare (`--lambda-debug`)

    @property
    def cli(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")


@dataclass(frozen=True)
class Value:
    """A value and where it came from: paths given on the command line or in
    the environment are relative to the working directory, those in an ini
    file to that file's directory."""

    value: Any
    source: Source

    @property
    def from_ini(self) -> bool:
        return self.source == "ini"


def add_options(parser: pytest.Parser, options: Iterable[Option]) -> None:
    """Register `options` (a plugin's) as CLI flags and ini options."""
    group = parser.getgroup(GROUP, "AWS Lambda container images")
    for option in options:
        help_text = option.help + (f" (default: {option.default})" if option.default else "")
        if option.kind == "linelist":
            group.addoption(
                option.cli, dest=option.name, action="append", default=[], metavar=option.metavar, help=help_text
            )
        elif option.kind == "switch":
            group.addoption(option.cli, dest=option.name, action="store_const", const="true", help=help_text)
        else:
            extra: dict[str, Any] = {"nargs": "?", "const": option.const} if option.const is not None else {}
            group.addoption(
                option.cli,
                dest=option.name,
                metavar=option.metavar or (None if option.choices else "VALUE"),
                choices=option.choices,
                help=help_text,
                **extra,
            )
        ini_type: Literal["string", "linelist"] = "linelist" if option.kind == "linelist" else "string"
        parser.addini(option.name, help_text, type=ini_type, default=None)


def ini_value(config: pytest.Config, name: str) -> Any:
    """The ini option's value, None when it is unset or empty."""
    try:
        value = config.getini(name)
    except (TypeError, ValueError) as exc:  # e.g. a TOML number where pytest wants a string
        raise ConfigError(f"invalid {name}: {exc}; write the value as a string") from None
    return value if value not in ("", None, []) else None


def read(config: pytest.Config, option: Option, *, cli: bool = True, ini: bool = True) -> Value | None:
    """The option's value by precedence, None when no level sets it. A
    line list joins the ini's lines and the CLI's (in that order)."""
    given = config.getoption(option.name) if cli else None
    from_ini = ini_value(config, option.name) if ini else None
    if option.kind == "linelist":
        lines = [*(from_ini or ()), *(given or ())]
        if lines:
            return Value(lines, "cli" if given else "ini")
    elif given not in (None, "", []):
        return Value(given, "cli")
    elif from_ini is not None:
        return Value(from_ini, "ini")
    if option.env:
        found = os.environ.get(option.env)
        if found:
            return Value(found.splitlines() if option.kind == "linelist" else found, "env")
    return None


def value(config: pytest.Config, option: Option, default: Any = None) -> Any:
    """The option's value by precedence, or `default`."""
    found = read(config, option)
    return default if found is None else found.value
