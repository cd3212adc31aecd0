"""A SAM or CloudFormation template as the plugin's configuration:
`lambda_template = template.yaml` (and `lambda_template_function` when it
holds several functions) gives the function's image, environment, memory,
timeout, architecture, /tmp size, ImageConfig and logging settings. The
ini, CLI and marker settings a user gives still win (options.py layers them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .async_config import AsyncSettings, DestinationRef, read_async_settings
from .function import TemplateFunction, function_resources, package_type, read_function
from .intrinsics import Resolver, Unresolved
from .yaml_tags import load_template

__all__ = [
    "AsyncSettings",
    "DestinationRef",
    "LambdaTemplate",
    "TemplateFunction",
    "TemplateSource",
    "Unresolved",
    "load_template",
]


class LambdaTemplate:
    """A loaded template. `values` give what a deployed stack would know:
    parameters (`Name=value`), resources' names (`Logical=value`), their
    attributes (`Logical.Attr=value`) and other stacks' exports."""

    def __init__(
        self, path: Path, data: Mapping[str, Any], values: Mapping[str, str], region: str, build_zip: bool = False
    ) -> None:
        self.path = path
        self.data = data
        self.build_zip = build_zip  # .zip functions become images built from their code and layers
        self.resolver = Resolver(data, values, region)
        self._functions: dict[str, TemplateFunction] = {}
        unknown = set(values) - self._known_names(values)
        if unknown:
            raise ConfigError(
                f"lambda_template_parameters names {', '.join(sorted(unknown))}, which {path.name} does not have: "
                "give parameters, resources (Logical or Logical.Attribute) or export names of the template"
            )

    @classmethod
    def load(
        cls,
        path: str | Path,
        values: Mapping[str, str] | None = None,
        region: str = "us-east-1",
        build_zip: bool = False,
    ) -> LambdaTemplate:
        path = Path(path)
        return cls(path, load_template(path), dict(values or {}), region, build_zip)

    def _known_names(self, values: Mapping[str, str]) -> set[str]:
        parameters = set(self.data.get("Parameters") or {})
        resources = set(self.data.get("Resources") or {})
        known = parameters | resources
        # Attributes and exports cannot be listed up front: accept a resource's
        # attribute, and anything an !ImportValue in the template could name.
        known |= {name for name in values if name.split(".", 1)[0] in resources}
        if _uses_import_value(self.data):
            known |= {name for name in values if "." not in name}
        return known

    @property
    def function_names(self) -> list[str]:
        return list(function_resources(self.data, self.resolver))

    def image_function_names(self) -> list[str]:
        resources = function_resources(self.data, self.resolver)
        return [name for name, resource in resources.items() if package_type(resource, self.resolver) == "Image"]

    def default_function_name(self) -> str:
        """The only function, or the only image function."""
        names = self.function_names
        if not names:
            raise ConfigError(f"{self.path.name} has no functions (AWS::Serverless::Function or AWS::Lambda::Function)")
        if len(names) == 1:
            return names[0]
        images = self.image_function_names()
        if len(images) == 1 and not self.build_zip:
            return images[0]
        raise ConfigError(
            f"{self.path.name} has {len(names)} functions ({', '.join(names)}): set lambda_template_function "
            "to the one to test"
        )

    def function(self, logical_id: str | None = None) -> TemplateFunction:
        name = logical_id or self.default_function_name()
        if name not in self._functions:
            if name not in function_resources(self.data, self.resolver):
                choices = ", ".join(self.function_names) or "none"
                raise ConfigError(f"{self.path.name} has no function {name!r} (its functions: {choices})")
            self._functions[name] = read_function(
                self.data, name, self.resolver, self.path.parent, self.path.name, self.build_zip
            )
        return self._functions[name]

    def async_settings(self, logical_id: str | None = None) -> AsyncSettings:
        """The function's EventInvokeConfig and dead-letter queue (read on
        each call: only an asynchronous invoke needs them)."""
        name = self.function(logical_id).logical_id
        return read_async_settings(self.data, name, self.resolver, self.path.name)


@dataclass(frozen=True)
class TemplateSource:
    """The template a session reads its settings from, with the settings the
    user gave explicitly, so that another function of the same template
    (a marker's `template_function=`) gets the same explicit settings."""

    template: LambdaTemplate
    function_name: str
    explicit: Mapping[str, Any] = field(default_factory=dict)  # FunctionConfig keyword arguments
    image_explicit: bool = False  # the image was named (--lambda-image, a Dockerfile...), not the template's

    def same_image(self, name: str) -> bool:
        """Function `name` is built from the same inputs (or names the same
        image) as the session's function: one image with several handlers."""
        one, other = self.template.function(self.function_name), self.template.function(name)
        return (one.build_fields, one.image_uri, one.zip_source) == (
            other.build_fields,
            other.image_uri,
            other.zip_source,
        )

    def function_kwargs(self, name: str | None = None) -> dict[str, Any]:
        """FunctionConfig keyword arguments: the template's, then the explicit ones."""
        found = self.template.function(name or self.function_name)
        explicit_env = dict(self.explicit.get("env") or {})
        missing = {key: exc for key, exc in found.unresolved_env.items() if key not in explicit_env}
        if missing:
            lines = "; ".join(f"{key} is {exc.expression} ({exc.why})" for key, exc in missing.items())
            keys = " ".join(f"{exc.key}=VALUE" for exc in missing.values() if exc.key)
            hint = f"lambda_template_parameters = {keys}" if keys else "plain values"
            raise ConfigError(
                f"{self.template.path.name}: function {found.logical_id}'s environment cannot be resolved "
                f"locally: {lines}; give them with {hint}, or set the variables in lambda_env"
            )
        kwargs = {**found.function_fields, **{k: v for k, v in self.explicit.items() if k != "env"}}
        kwargs["env"] = {**dict(found.function_fields.get("env") or {}), **explicit_env}
        return kwargs


def _uses_import_value(value: Any) -> bool:
    if isinstance(value, dict):
        return "Fn::ImportValue" in value or any(_uses_import_value(item) for item in value.values())
    return isinstance(value, list) and any(_uses_import_value(item) for item in value)
