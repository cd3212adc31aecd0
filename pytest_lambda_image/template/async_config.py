"""A template function's asynchronous invocation settings: SAM's
EventInvokeConfig and DeadLetterQueue, CloudFormation's DeadLetterConfig and
AWS::Lambda::EventInvokeConfig resources. Read only when an event is invoked
asynchronously: a destination only a deployed stack knows must not fail the
tests that never invoke that way."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ConfigError
from .function import SERVERLESS, merged_properties
from .intrinsics import ACCOUNT_ID, NO_VALUE, Resolver, Unresolved

EVENT_INVOKE_CONFIG = "AWS::Lambda::EventInvokeConfig"
# What a destination resource of the template is, and the property that names it.
_KINDS = {
    "AWS::SQS::Queue": ("sqs", "QueueName"),
    "AWS::SNS::Topic": ("sns", "TopicName"),
    "AWS::Events::EventBus": ("events", "Name"),
    "AWS::Serverless::Function": ("lambda", "FunctionName"),
    "AWS::Lambda::Function": ("lambda", "FunctionName"),
}
_NUMBERS = (("MaximumRetryAttempts", "maximum_retry_attempts"), ("MaximumEventAgeInSeconds", "maximum_event_age"))
_ARNS = {
    "sqs": "arn:aws:sqs:{region}:{account}:{name}",
    "sns": "arn:aws:sns:{region}:{account}:{name}",
    "events": "arn:aws:events:{region}:{account}:event-bus/{name}",
    "lambda": "arn:aws:lambda:{region}:{account}:function:{name}",
}


@dataclass(frozen=True)
class DestinationRef:
    """Where an outcome goes: `kind` is the ARN's service (sqs, sns, events,
    lambda); `function` the logical id when it is one of the template's functions."""

    kind: str
    arn: str
    function: str | None = None


@dataclass(frozen=True)
class AsyncSettings:
    """What the template sets (None: Lambda's default)."""

    maximum_retry_attempts: int | None = None
    maximum_event_age: int | None = None
    on_success: DestinationRef | None = None
    on_failure: DestinationRef | None = None
    dead_letter: DestinationRef | None = None

    @property
    def empty(self) -> bool:
        return self == AsyncSettings()


def read_async_settings(template: Mapping[str, Any], logical_id: str, resolver: Resolver, where: str) -> AsyncSettings:
    resources = template.get("Resources") or {}
    resource = resources[logical_id]
    properties = merged_properties(template, resource)
    reader = _Reader(resources, resolver, f"{where}: function {logical_id}")
    fields: dict[str, Any] = {}
    dead_letter = properties.get("DeadLetterQueue" if resource.get("Type") == SERVERLESS else "DeadLetterConfig")
    if isinstance(dead_letter, dict) and dead_letter.get("TargetArn") is not None:
        fields["dead_letter"] = reader.destination(dead_letter["TargetArn"], "its dead-letter queue")
    configs = [properties.get("EventInvokeConfig")]
    configs += [
        (found.get("Properties") or {})
        for found in resources.values()
        if isinstance(found, dict) and found.get("Type") == EVENT_INVOKE_CONFIG and _names(found, logical_id)
    ]
    for config in configs:
        if isinstance(config, dict):
            fields.update(reader.event_invoke_config(config))
    return AsyncSettings(**fields)


def _names(resource: Mapping[str, Any], logical_id: str) -> bool:
    """An EventInvokeConfig resource is about this function (FunctionName: !Ref it)."""
    name = (resource.get("Properties") or {}).get("FunctionName")
    return isinstance(name, dict) and name.get("Ref") == logical_id


@dataclass(frozen=True)
class _Reader:
    resources: Mapping[str, Any]
    resolver: Resolver
    what: str

    def event_invoke_config(self, config: Mapping[str, Any]) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        for name, key in _NUMBERS:
            if config.get(name) is not None:
                value = self._value(config[name], f"EventInvokeConfig.{name}")
                try:
                    fields[key] = int(value)
                except (TypeError, ValueError):
                    raise ConfigError(
                        f"{self.what}: EventInvokeConfig.{name} {value!r} is not a whole number"
                    ) from None
        destinations = config.get("DestinationConfig") or {}  # unresolved: a destination may be a resource
        for name, key in (("OnSuccess", "on_success"), ("OnFailure", "on_failure")):
            spec = destinations.get(name) if isinstance(destinations, dict) else None
            if not isinstance(spec, dict):
                continue
            if spec.get("Destination") is None:
                raise ConfigError(
                    f"{self.what}: EventInvokeConfig.DestinationConfig.{name} has no Destination (SAM would create "
                    "one on deploy): name the queue, topic, bus or function it is"
                )
            fields[key] = self.destination(spec["Destination"], f"its {name} destination")
        return fields

    def destination(self, raw: Any, what: str) -> DestinationRef:
        """A template resource (by Ref or GetAtt) is named as the stack would
        name it when the template fixes its name, else by its logical id; any
        other value must resolve to an ARN."""
        target = _referenced(raw)
        found = self.resources.get(target) if target else None
        if isinstance(found, dict) and found.get("Type") in _KINDS:
            kind, name_property = _KINDS[str(found["Type"])]
            given = (found.get("Properties") or {}).get(name_property)
            name = self._value(given, f"{target}.{name_property}") if given is not None else target
            region = self.resolver.pseudo["AWS::Region"]
            arn = _ARNS[kind].format(region=region, account=ACCOUNT_ID, name=name)
            return DestinationRef(kind, arn, target if kind == "lambda" else None)
        arn = str(self._value(raw, what))
        parts = arn.split(":")
        if len(parts) < 6 or parts[0] != "arn":
            raise ConfigError(f"{self.what}: {what} is {arn!r}, not an ARN")
        return DestinationRef(parts[2], arn)

    def _value(self, value: Any, name: str) -> Any:
        try:
            resolved = self.resolver.resolve(value)
        except Unresolved as exc:
            hint = f"lambda_template_parameters = {exc.key}=VALUE" if exc.key else "a plain value"
            raise ConfigError(f"{self.what}: {name} is {exc}: give it with {hint}") from None
        return None if resolved is NO_VALUE else resolved


def _referenced(raw: Any) -> str | None:
    """The logical id of `!Ref X`, `!GetAtt X.Arn` or `!GetAtt [X, Arn]`."""
    if not isinstance(raw, dict) or len(raw) != 1:
        return None
    if "Ref" in raw and isinstance(raw["Ref"], str):
        return raw["Ref"]
    argument = raw.get("Fn::GetAtt")
    if isinstance(argument, str):
        return argument.split(".", 1)[0]
    if isinstance(argument, list) and argument and isinstance(argument[0], str):
        return argument[0]
    return None
