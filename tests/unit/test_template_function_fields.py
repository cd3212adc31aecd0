"""read_function's pieces, one property at a time: the run settings, the
image's overrides, the logging, the platform and where the image comes
from. (Whole templates are in test_template.py; these are the edges.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_lambda_image.errors import ConfigError
from pytest_lambda_image.template.function import CLOUDFORMATION, SERVERLESS, TemplateFunction, read_function
from pytest_lambda_image.template.intrinsics import Resolver


def read(properties: dict[str, Any], kind: str = SERVERLESS) -> TemplateFunction:
    template = {
        "Parameters": {"Later": {"Type": "String"}},  # no Default: only a deployed stack knows it
        "Resources": {"Fn": {"Type": kind, "Properties": {"PackageType": "Image", "ImageUri": "fn:1", **properties}}},
    }
    return read_function(template, "Fn", Resolver(template, {}, "eu-west-1"), Path("."), "template.yaml")


def test_run_settings_are_read_only_when_given():
    assert read({}).function_fields == {}
    found = read({"MemorySize": 256, "Timeout": {"Ref": "AWS::NoValue"}, "EphemeralStorage": {"Size": 1024}})
    assert found.function_fields == {"memory_size": 256, "ephemeral_storage": 1024}
    assert read({"EphemeralStorage": {}}).function_fields == {}  # no Size: nothing to set


def test_image_config_overrides_only_what_it_names():
    assert read({"ImageConfig": {"Command": "app.handler"}}).function_fields == {"command": ("app.handler",)}
    assert read({"ImageConfig": {"WorkingDirectory": ""}}).function_fields == {}
    assert read({"ImageConfig": {"Command": None, "EntryPoint": ["/x"]}}).function_fields == {"entrypoint": ("/x",)}
    with pytest.raises(ConfigError, match="ImageConfig must be a mapping of Command, EntryPoint and WorkingDirectory"):
        read({"ImageConfig": ["app.handler"]})


def test_logging_config_sets_format_and_level_and_nothing_else():
    assert read({"LoggingConfig": {"LogFormat": "JSON"}}).function_fields == {"log_format": "JSON"}
    assert read({"LoggingConfig": {"ApplicationLogLevel": "WARN", "LogFormat": ""}}).function_fields == {
        "log_level": "WARN"
    }
    assert read({"LoggingConfig": "JSON"}).function_fields == {}  # not a mapping: says nothing


@pytest.mark.parametrize(
    ("architectures", "platform"),
    [("arm64", "linux/arm64"), (["x86_64"], "linux/amd64"), (["arm64", "arm64"], "linux/arm64"), (None, None)],
)
def test_architectures_name_the_platform(architectures, platform):
    properties = {} if architectures is None else {"Architectures": architectures}
    assert read(properties).platform == platform


@pytest.mark.parametrize("architectures", [[], ["mips"], ["x86_64", "arm64"]])
def test_architectures_must_name_one_known_platform(architectures):
    with pytest.raises(ConfigError, match="must name one of x86_64 or arm64"):
        read({"Architectures": architectures})


def test_cloudformation_s_image_is_in_code_and_sam_s_is_not():
    template = {
        "Resources": {
            "Cfn": {"Type": CLOUDFORMATION, "Properties": {"PackageType": "Image", "Code": {"ImageUri": "cfn:1"}}},
            "Sam": {"Type": SERVERLESS, "Properties": {"PackageType": "Image", "Code": {"ImageUri": "sam:1"}}},
        }
    }
    resolver = Resolver(template, {}, "eu-west-1")
    assert read_function(template, "Cfn", resolver, Path("."), "t").image_uri == "cfn:1"
    with pytest.raises(ConfigError, match="says neither how to build its image"):
        read_function(template, "Sam", resolver, Path("."), "t")
    # An ImageUri property wins over Code's.
    assert read({"ImageUri": "top:1", "Code": {"ImageUri": "code:1"}}, CLOUDFORMATION).image_uri == "top:1"


def test_a_property_only_the_stack_knows_names_itself_and_the_fix():
    with pytest.raises(ConfigError, match=r"function Fn: Timeout is !Ref Later .*lambda_template_parameters = Later="):
        read({"Timeout": {"Ref": "Later"}})
