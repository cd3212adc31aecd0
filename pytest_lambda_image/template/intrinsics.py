"""CloudFormation's intrinsic functions, resolved the way a deployed stack
would see them, as far as that is possible without AWS.

Parameters take their Default (or a value the user gives), pseudo parameters
take fixed local values (the region from the settings), conditions are
evaluated. What only a real stack knows (`!GetAtt`, `!ImportValue`, a
resource's generated name) raises `Unresolved`, naming the key under which
the user can give it (`lambda_template_parameters`).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from .._lambda import EXAMPLE_ACCOUNT_ID
from ..errors import ConfigError

ACCOUNT_ID = EXAMPLE_ACCOUNT_ID
STACK_NAME = "local"

# Resource types whose `Ref` is the physical name given in this property.
_NAME_PROPERTY = {
    "AWS::DynamoDB::Table": "TableName",
    "AWS::DynamoDB::GlobalTable": "TableName",
    "AWS::Serverless::SimpleTable": "TableName",
    "AWS::S3::Bucket": "BucketName",
    "AWS::Lambda::Function": "FunctionName",
    "AWS::Serverless::Function": "FunctionName",
    "AWS::Kinesis::Stream": "Name",
    "AWS::SSM::Parameter": "Name",
    "AWS::Logs::LogGroup": "LogGroupName",
    "AWS::IAM::Role": "RoleName",
    "AWS::ECR::Repository": "RepositoryName",
}
# What a stack gives for resources whose name the template fixes: Ref (key
# "Ref") and attributes, built from the name, the region and the account, as
# AWS forms them (and moto, with the same account id, accepts them).
_DERIVED = {
    "AWS::SQS::Queue": (
        "QueueName",
        {
            "Ref": "https://sqs.{region}.amazonaws.com/{account}/{name}",
            "QueueUrl": "https://sqs.{region}.amazonaws.com/{account}/{name}",
            "Arn": "arn:aws:sqs:{region}:{account}:{name}",
            "QueueName": "{name}",
        },
    ),
    "AWS::SNS::Topic": (
        "TopicName",
        {
            "Ref": "arn:aws:sns:{region}:{account}:{name}",
            "TopicArn": "arn:aws:sns:{region}:{account}:{name}",
            "TopicName": "{name}",
        },
    ),
    "AWS::DynamoDB::Table": ("TableName", {"Arn": "arn:aws:dynamodb:{region}:{account}:table/{name}"}),
    "AWS::Serverless::SimpleTable": ("TableName", {"Arn": "arn:aws:dynamodb:{region}:{account}:table/{name}"}),
    "AWS::S3::Bucket": (
        "BucketName",
        {
            "Arn": "arn:aws:s3:::{name}",
            "DomainName": "{name}.s3.amazonaws.com",
            "RegionalDomainName": "{name}.s3.{region}.amazonaws.com",
        },
    ),
    "AWS::Lambda::Function": ("FunctionName", {"Arn": "arn:aws:lambda:{region}:{account}:function:{name}"}),
    "AWS::Serverless::Function": ("FunctionName", {"Arn": "arn:aws:lambda:{region}:{account}:function:{name}"}),
    "AWS::Kinesis::Stream": ("Name", {"Arn": "arn:aws:kinesis:{region}:{account}:stream/{name}"}),
    "AWS::Events::EventBus": (
        "Name",
        {"Ref": "{name}", "Name": "{name}", "Arn": "arn:aws:events:{region}:{account}:event-bus/{name}"},
    ),
}
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class NoValue:
    """`AWS::NoValue`: the property is removed."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = NoValue()


class Unresolved(Exception):
    """A value only the deployed stack knows. `key` is what the user sets in
    lambda_template_parameters to give it; `expression` is how it was written."""

    def __init__(self, expression: str, key: str, why: str) -> None:
        super().__init__(f"{expression} {why}")
        self.expression = expression
        self.key = key
        self.why = why


class Resolver:
    def __init__(self, template: Mapping[str, Any], values: Mapping[str, str], region: str) -> None:
        self._template = template
        self._values = dict(values)
        self._region = region
        self._conditions: dict[str, bool] = {}
        self._parameters = template.get("Parameters") or {}
        self._resources = template.get("Resources") or {}

    @property
    def pseudo(self) -> dict[str, Any]:
        return {
            "AWS::Region": self._region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": "aws",
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::StackName": STACK_NAME,
            "AWS::StackId": f"arn:aws:cloudformation:{self._region}:{ACCOUNT_ID}:stack/{STACK_NAME}/local",
            "AWS::NotificationARNs": [],
        }

    def resolve(self, value: Any) -> Any:
        """`value` with every intrinsic function replaced by its result;
        NO_VALUE where `AWS::NoValue` removes it."""
        if isinstance(value, list):
            items = (self.resolve(item) for item in value)
            return [item for item in items if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref" or name.startswith("Fn::"):
                return self._function(name, argument)
        resolved = {key: self.resolve(item) for key, item in value.items()}
        return {key: item for key, item in resolved.items() if item is not NO_VALUE}

    def text(self, value: Any) -> str:
        resolved = self.resolve(value)
        if isinstance(resolved, (dict, list)):
            raise Unresolved(describe(value), "", "is not a single value")
        return str(resolved).lower() if isinstance(resolved, bool) else str(resolved)

    # -- the functions -----------------------------------------------------------
    def _function(self, name: str, argument: Any) -> Any:
        expression = describe({name: argument})
        function = self._FUNCTIONS.get(name)
        if function is None:
            raise Unresolved(expression, "", "cannot be worked out locally")
        return function(self, argument, expression)

    def _fn_ref(self, argument: Any, expression: str) -> Any:
        return self._ref(self.text(argument))

    def _fn_get_att(self, argument: Any, expression: str) -> Any:
        # The short form's `!GetAtt Db.Endpoint.Address` names the resource before the first dot.
        parts = argument.split(".", 1) if isinstance(argument, str) else argument
        if not isinstance(parts, list) or len(parts) != 2:
            raise _malformed(expression)
        return self._get_att(self.text(parts[0]), self.text(parts[1]))

    def _join(self, argument: Any, expression: str) -> str:
        if not isinstance(argument, list) or len(argument) != 2:
            raise _malformed(expression)
        items = self.resolve(argument[1])
        if not isinstance(items, list):
            raise _malformed(expression)
        return self.text(argument[0]).join(self.text(item) for item in items)

    def _select(self, argument: Any, expression: str) -> Any:
        if not isinstance(argument, list) or len(argument) != 2:
            raise _malformed(expression)
        index_text, items = self.text(argument[0]), self.resolve(argument[1])
        if not index_text.isdigit():
            raise ConfigError(f"{expression}: the index {index_text!r} is not a whole number")
        index = int(index_text)
        if not isinstance(items, list) or not 0 <= index < len(items):
            raise ConfigError(f"{expression}: index {index} is outside the list")
        return items[index]

    def _split(self, argument: Any, expression: str) -> list[str]:
        if not isinstance(argument, list) or len(argument) != 2:
            raise _malformed(expression)
        return self.text(argument[1]).split(self.text(argument[0]))

    def _if(self, argument: Any, expression: str) -> Any:
        if not isinstance(argument, list) or len(argument) != 3:
            raise _malformed(expression)
        # Only the branch the condition picks is resolved: the other may hold what only the stack knows.
        return self.resolve(argument[1] if self.condition(self.text(argument[0])) else argument[2])

    def _base64(self, argument: Any, expression: str) -> str:
        return base64.b64encode(self.text(argument).encode()).decode()

    def _import_value(self, argument: Any, expression: str) -> Any:
        export = self.text(argument)
        if export in self._values:
            return self._values[export]
        raise Unresolved(expression, export, "is another stack's export")

    def _to_json_string(self, argument: Any, expression: str) -> str:
        return json.dumps(self.resolve(argument), separators=(",", ":"))

    def _length(self, argument: Any, expression: str) -> int:
        items = self.resolve(argument)
        return len(items) if isinstance(items, list) else 1

    def _get_azs(self, argument: Any, expression: str) -> list[str]:
        region = self.text(argument) or self._region  # `!GetAZs ""` is the stack's own region
        return [f"{region}{zone}" for zone in "abc"]

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self._parameters:
            return self._parameter(name)
        if name in self._values:
            return self._values[name]
        if name in self.pseudo:
            return self.pseudo[name]
        resource = self._resources.get(name)
        if isinstance(resource, dict):
            derived = self._derived(name, "Ref")
            if derived is not None:
                return derived
            prop = _NAME_PROPERTY.get(str(resource.get("Type")))
            given = (resource.get("Properties") or {}).get(prop) if prop else None
            if given is not None:
                return self.text(given)
            raise Unresolved(f"!Ref {name}", name, f"is the {resource.get('Type')} the stack creates")
        raise ConfigError(f"!Ref {name}: the template has no parameter or resource {name}")

    def _derived(self, resource: str, what: str) -> str | None:
        """`what` (Ref or an attribute) of a resource whose name the template fixes."""
        found = self._resources.get(resource)
        kind = found.get("Type") if isinstance(found, dict) else None
        if kind not in _DERIVED:
            return None
        prop, forms = _DERIVED[str(kind)]
        name = (found.get("Properties") or {}).get(prop) if isinstance(found, dict) else None
        if name is None or what not in forms:
            return None
        return forms[what].format(region=self._region, account=ACCOUNT_ID, name=self.text(name))

    def _parameter(self, name: str) -> Any:
        """A given value (lambda_template_parameters) or the Default, checked
        and typed alike, as CloudFormation does with --parameter-overrides."""
        spec = self._parameters[name] if isinstance(self._parameters[name], dict) else {}
        if name in self._values:
            value = self._values[name]
        elif "Default" in spec:
            value = spec["Default"]
        else:
            raise Unresolved(f"!Ref {name}", name, "is a parameter without a Default")
        allowed = spec.get("AllowedValues")
        if allowed and str(value) not in [str(item) for item in allowed]:
            raise ConfigError(f"parameter {name} = {value!r} is not one of its AllowedValues {allowed}")
        kind = str(spec.get("Type", "String"))
        if kind == "CommaDelimitedList" or kind.startswith("List<"):
            return [item.strip() for item in str(value).split(",")]
        return str(value).lower() if isinstance(value, bool) else str(value)

    def _get_att(self, resource: str, attribute: str) -> Any:
        key = f"{resource}.{attribute}"
        if key in self._values:
            return self._values[key]
        if resource not in self._resources:
            raise ConfigError(f"!GetAtt {key}: the template has no resource {resource}")
        derived = self._derived(resource, attribute)
        if derived is not None:
            return derived
        raise Unresolved(f"!GetAtt {key}", key, "is known only once the stack is deployed")

    def _sub(self, argument: Any, expression: str) -> str:
        variables: Mapping[str, Any] = {}
        if isinstance(argument, list):
            if len(argument) != 2 or not isinstance(argument[1], dict):
                raise _malformed(expression)
            argument, variables = argument
        if not isinstance(argument, str):
            raise _malformed(expression)

        def replace(match: re.Match[str]) -> str:
            name = match.group(1).strip()
            if name.startswith("!"):
                return "${" + name[1:] + "}"  # ${!Literal} stays as written, without the "!"
            if name in variables:
                return self.text(variables[name])
            if "." in name and not name.startswith("AWS::"):
                resource, attribute = name.split(".", 1)
                return str(self._get_att(resource, attribute))
            value = self._ref(name)
            return ",".join(value) if isinstance(value, list) else str(value)

        return _SUB_VARIABLE.sub(replace, argument)

    def _find_in_map(self, argument: Any, expression: str) -> Any:
        if not isinstance(argument, list) or len(argument) not in (3, 4):
            raise _malformed(expression)
        names = [self.text(item) for item in argument[:3]]
        found: Any = (self._template.get("Mappings") or {}).get(names[0], {})
        for key in names[1:]:
            found = found.get(key) if isinstance(found, dict) else None
        if found is None:
            default = argument[3].get("DefaultValue") if len(argument) == 4 and isinstance(argument[3], dict) else None
            if default is None:
                raise ConfigError(f"{expression}: the template's Mappings have no {'/'.join(names)}")
            found = default
        return self.resolve(found)

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self._template.get("Conditions") or {}
            if name not in conditions:
                raise ConfigError(f"the template has no condition {name}")
            self._conditions[name] = bool(self.resolve(conditions[name]))
        return self._conditions[name]

    def _equals(self, argument: Any, expression: str) -> bool:
        if not isinstance(argument, list) or len(argument) != 2:
            raise _malformed(expression)
        return self.text(argument[0]) == self.text(argument[1])

    def _and(self, argument: Any, expression: str) -> bool:
        return all(self._truths(argument, expression))

    def _or(self, argument: Any, expression: str) -> bool:
        return any(self._truths(argument, expression))

    def _not(self, argument: Any, expression: str) -> bool:
        return not self._truths(argument, expression)[0]

    def _truths(self, argument: Any, expression: str) -> list[bool]:
        """Every operand's truth, all of them evaluated (an unknown condition
        is an error even where an earlier operand already decides)."""
        if not isinstance(argument, list):
            raise _malformed(expression)
        return [self._truth(item) for item in argument]

    def _truth(self, item: Any) -> bool:
        if isinstance(item, dict) and set(item) == {"Condition"}:
            return self.condition(self.text(item["Condition"]))
        value = self.resolve(item)
        return value if isinstance(value, bool) else str(value).lower() == "true"

    # The intrinsic functions by name; each takes the argument and, for its
    # messages, the expression as written.
    _FUNCTIONS: ClassVar[dict[str, Callable[[Resolver, Any, str], Any]]] = {
        "Ref": _fn_ref,
        "Fn::GetAtt": _fn_get_att,
        "Fn::Sub": _sub,
        "Fn::Join": _join,
        "Fn::Select": _select,
        "Fn::Split": _split,
        "Fn::FindInMap": _find_in_map,
        "Fn::If": _if,
        "Fn::Base64": _base64,
        "Fn::ImportValue": _import_value,
        "Fn::ToJsonString": _to_json_string,
        "Fn::Length": _length,
        "Fn::GetAZs": _get_azs,
        "Fn::Equals": _equals,
        "Fn::And": _and,
        "Fn::Or": _or,
        "Fn::Not": _not,
    }


def _malformed(expression: str) -> ConfigError:
    return ConfigError(f"{expression} is malformed: see the CloudFormation reference for its arguments")


def describe(value: Any) -> str:
    """An intrinsic as it would be written in short form, for messages."""
    if isinstance(value, dict) and len(value) == 1:
        ((name, argument),) = value.items()
        short = "Ref" if name == "Ref" else name.removeprefix("Fn::") if name.startswith("Fn::") else None
        if short is not None:
            if short == "GetAtt" and isinstance(argument, list):
                argument = ".".join(str(part) for part in argument)
            shown = argument if isinstance(argument, str) else json.dumps(argument, default=str)
            return f"!{short} {shown}"[:120]
    return json.dumps(value, default=str)[:120]
