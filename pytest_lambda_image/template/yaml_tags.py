"""Reading a template file: YAML with CloudFormation's short tags, or JSON.

Short tags become the long form CloudFormation documents (`!Ref X` is
`{"Ref": "X"}`, `!GetAtt A.B` is `{"Fn::GetAtt": ["A", "B"]}`), so the
resolver sees one shape whichever way a template was written.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any

import yaml

from ..errors import ConfigError

# Tags whose long form is not Fn::<tag>.
_SPECIAL = {"Ref": "Ref", "Condition": "Condition"}


class _Loader(yaml.SafeLoader):
    """SafeLoader plus CloudFormation's tags; dates stay strings
    (`AWSTemplateFormatVersion: 2010-09-09` is not a date to CloudFormation)."""


def _construct(loader: _Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = suffix
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if name == "GetAtt" and isinstance(value, str):
            # `!GetAtt Resource.Attribute`: the attribute itself may hold dots (Endpoint.Address).
            resource, _, attribute = value.partition(".")
            value = [resource, attribute]
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {_SPECIAL.get(name, f"Fn::{name}"): value}


_Loader.add_multi_constructor("!", _construct)


def _timestamp_as_text(loader: _Loader, node: yaml.Node) -> str:
    return str(loader.construct_scalar(node))  # type: ignore[arg-type]


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def load_template(path: Path) -> dict[str, Any]:
    """The template at `path` as plain data; ConfigError says what is wrong and where."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"template {path} does not exist: check lambda_template") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"template {path} cannot be read: {exc}") from None
    try:
        if text.lstrip().startswith("{"):
            data = json.loads(text)
        else:
            data = yaml.load(text, Loader=_Loader)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"template {path} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"template {path} is not valid YAML{where}: {problem}") from None
    if not isinstance(data, dict) or not isinstance(data.get("Resources"), dict):
        raise ConfigError(f"template {path} has no Resources section: is it a SAM or CloudFormation template?")
    return _plain(data)


def _plain(value: Any) -> Any:
    """Keys as strings and no date objects, whatever YAML made of them."""
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value
