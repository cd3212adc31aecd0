"""JSON Schemas (Draft 2020-12) for events and proxy responses, and a
validator whose message points at the offending field."""

from __future__ import annotations

import functools
import json
from importlib import resources
from typing import Any

import jsonschema

from ..errors import LambdaImageError

MAX_PROBLEMS = 5


class EventValidationError(LambdaImageError, ValueError):
    """An event or response does not match its schema; `problems` holds
    (JSON path, message) pairs."""

    def __init__(self, message: str, problems: list[tuple[str, str]]) -> None:
        super().__init__(message)
        self.problems = problems


def schema_names() -> list[str]:
    folder = resources.files(__package__) / "schemas"
    return sorted(entry.name[: -len(".json")] for entry in folder.iterdir() if entry.name.endswith(".json"))


@functools.cache
def schema(name: str) -> dict[str, Any]:
    """The schema called `name` (see `schema_names()`), e.g. "apigw-rest"."""
    path = resources.files(__package__) / "schemas" / f"{name}.json"
    if not path.is_file():
        raise LambdaImageError(f"no schema called {name!r}: choose one of {', '.join(schema_names())}")
    return json.loads(path.read_text())


@functools.cache
def _validator(name: str) -> jsonschema.protocols.Validator:
    document = schema(name)
    cls = jsonschema.validators.validator_for(document)
    cls.check_schema(document)
    return cls(document)


def problems(document: Any, name: str) -> list[tuple[str, str]]:
    """Every (JSON path, message) where `document` breaks schema `name`, shallowest first."""
    errors = sorted(
        _validator(name).iter_errors(document), key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path)))
    )
    return [(error.json_path, error.message) for error in errors]


def validate(document: Any, name: str) -> Any:
    """Raise `EventValidationError` naming the first problems; return `document` if valid."""
    found = problems(document, name)
    if found:
        lines = "\n".join(f"  {path}: {message}" for path, message in found[:MAX_PROBLEMS])
        more = f"\n  ... and {len(found) - MAX_PROBLEMS} more" if len(found) > MAX_PROBLEMS else ""
        raise EventValidationError(f"not a valid {name} document:\n{lines}{more}", found)
    return document
