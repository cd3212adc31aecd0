"""Each intrinsic function the resolver knows, reached by its name: the
value it gives, and how it refuses an argument of the wrong shape. (The
common cases are in test_template.py; these are the branches it leaves.)"""

from __future__ import annotations

import pytest

from pytest_lambda_image.errors import ConfigError
from pytest_lambda_image.template.intrinsics import Resolver, Unresolved

TEMPLATE = {
    "Parameters": {"Stage": {"Type": "String", "Default": "dev"}},
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
        "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]},
    },
    "Mappings": {"Sizes": {"dev": {"Memory": 256}}},
    "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "orders"}}},
}


def resolve(expression: object, values: dict[str, str] | None = None) -> object:
    return Resolver(TEMPLATE, values or {}, "eu-west-1").resolve(expression)


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"Ref": "Stage"}, "dev"),
        ({"Fn::GetAtt": "Queue.Arn"}, "arn:aws:sqs:eu-west-1:123456789012:orders"),  # the short form's dotted string
        ({"Fn::GetAtt": ["Queue", "QueueName"]}, "orders"),
        ({"Fn::Sub": "${Stage}-x"}, "dev-x"),
        ({"Fn::Join": ["/", ["a", "b"]]}, "a/b"),
        ({"Fn::Select": ["0", ["a", "b"]]}, "a"),
        ({"Fn::Split": ["/", "a/b"]}, ["a", "b"]),
        ({"Fn::FindInMap": ["Sizes", "dev", "Memory"]}, 256),
        ({"Fn::If": ["IsDev", "small", {"Fn::GetAtt": ["Queue", "Nothing"]}]}, "small"),  # the other branch unread
        ({"Fn::Base64": "hi"}, "aGk="),
        ({"Fn::ImportValue": "Shared"}, "given"),
        ({"Fn::ToJsonString": ["a", 1]}, '["a",1]'),
        ({"Fn::Length": ["a", "b"]}, 2),
        ({"Fn::Length": "a"}, 1),  # not a list: one item
        ({"Fn::GetAZs": ""}, ["eu-west-1a", "eu-west-1b", "eu-west-1c"]),  # "": the stack's region
        ({"Fn::GetAZs": "us-east-2"}, ["us-east-2a", "us-east-2b", "us-east-2c"]),
        ({"Fn::Equals": ["a", "a"]}, True),
        ({"Fn::Equals": [{"Ref": "Stage"}, "prod"]}, False),
        ({"Fn::And": [{"Condition": "IsDev"}, "true"]}, True),
        ({"Fn::And": [{"Condition": "IsDev"}, "false"]}, False),
        ({"Fn::And": []}, True),
        ({"Fn::Or": [{"Condition": "IsProd"}, True]}, True),
        ({"Fn::Or": [{"Condition": "IsProd"}, "no"]}, False),
        ({"Fn::Not": [{"Condition": "IsProd"}]}, True),
        ({"Fn::Not": ["true"]}, False),
    ],
)
def test_each_function_gives_its_value(expression, expected):
    assert resolve(expression, {"Shared": "given"}) == expected


@pytest.mark.parametrize(
    "expression",
    [
        {"Fn::GetAtt": "Queue"},
        {"Fn::GetAtt": ["Queue"]},
        {"Fn::GetAtt": {"Queue": "Arn"}},
        {"Fn::Sub": 3},
        {"Fn::Sub": ["${X}"]},
        {"Fn::Sub": ["${X}", ["X"]]},
        {"Fn::Join": "a,b"},
        {"Fn::Join": ["-", "a"]},  # the items are not a list
        {"Fn::Select": [0]},
        {"Fn::Split": [","]},
        {"Fn::FindInMap": ["Sizes", "dev"]},
        {"Fn::If": ["IsDev", 1]},
        {"Fn::Equals": ["a"]},
        {"Fn::Equals": "a"},
        {"Fn::And": {"Condition": "IsDev"}},
        {"Fn::Or": "true"},
        {"Fn::Not": {"Condition": "IsDev"}},
    ],
)
def test_an_argument_of_the_wrong_shape_is_malformed(expression):
    with pytest.raises(ConfigError, match="is malformed"):
        resolve(expression)


def test_select_needs_a_whole_number_inside_the_list():
    with pytest.raises(ConfigError, match="the index '-1' is not a whole number"):
        resolve({"Fn::Select": ["-1", ["a"]]})
    with pytest.raises(ConfigError, match="index 1 is outside the list"):
        resolve({"Fn::Select": [1, "a"]})


def test_every_operand_of_a_boolean_is_evaluated():
    # Or does not stop at the first true operand: an unknown condition after it is still an error.
    with pytest.raises(ConfigError, match="no condition Missing"):
        resolve({"Fn::Or": [True, {"Condition": "Missing"}]})
    with pytest.raises(ConfigError, match="no condition Missing"):
        resolve({"Fn::And": [False, {"Condition": "Missing"}]})


@pytest.mark.parametrize("name", ["Fn::Cidr", "Fn::Transform", "Fn::GetAtts"])
def test_a_function_it_does_not_know_is_unresolved(name):
    with pytest.raises(Unresolved) as raised:
        resolve({name: ["a", "b"]})
    assert raised.value.key == "" and raised.value.why == "cannot be worked out locally"


def test_import_value_not_given_names_the_export():
    with pytest.raises(Unresolved) as raised:
        resolve({"Fn::ImportValue": {"Fn::Sub": "${Stage}-vpc"}})
    assert raised.value.key == "dev-vpc" and raised.value.expression.startswith("!ImportValue")
