"""SAM / CloudFormation templates read into settings: short tags, intrinsic
functions, Globals, the function's properties, and one clear line for each
kind of bad input."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from pytest_lambda_image.errors import ConfigError
from pytest_lambda_image.template import LambdaTemplate, TemplateSource, load_template
from pytest_lambda_image.template.intrinsics import NO_VALUE, Resolver, Unresolved
from pytest_lambda_image.template.zip_function import runtime_base


def write(tmp_path: Path, text: str, name: str = "template.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "Dockerfile").write_text("FROM scratch\n")
    return path


SHORT_TAGS = """
AWSTemplateFormatVersion: 2010-09-09
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      A: !Ref Stage
      B: !GetAtt Db.Endpoint.Address
      C: !Sub "${AWS::Region}-x"
      D: !Sub ["${X}", {X: !Ref Stage}]
      E: !Join [",", [a, !Ref Stage]]
      F: !Select [1, !Split [",", "a,b,c"]]
      G: !If [Cond, yes, no]
      H: !FindInMap [M, K, V]
      I: !ImportValue Shared
      J: !Base64 text
      K: !Condition Cond
      L: !GetAtt [Db, Arn]
"""


def test_short_tags_become_the_long_form(tmp_path):
    data = load_template(write(tmp_path, SHORT_TAGS))
    assert data["AWSTemplateFormatVersion"] == "2010-09-09"  # not a date
    props = data["Resources"]["Fn"]["Properties"]
    assert props["A"] == {"Ref": "Stage"}
    assert props["B"] == {"Fn::GetAtt": ["Db", "Endpoint.Address"]}
    assert props["C"] == {"Fn::Sub": "${AWS::Region}-x"}
    assert props["D"] == {"Fn::Sub": ["${X}", {"X": {"Ref": "Stage"}}]}
    assert props["F"] == {"Fn::Select": [1, {"Fn::Split": [",", "a,b,c"]}]}
    assert props["K"] == {"Condition": "Cond"}
    assert props["L"] == {"Fn::GetAtt": ["Db", "Arn"]}


def test_json_templates_are_read(tmp_path):
    path = write(tmp_path, '{"Resources": {"Fn": {"Type": "AWS::Lambda::Function", "Properties": {}}}}', "t.json")
    assert load_template(path)["Resources"]["Fn"]["Type"] == "AWS::Lambda::Function"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Resources: [\n", "is not valid YAML at line"),
        ("Description: nothing\n", "has no Resources section"),
        ('{"Resources": ', "is not valid JSON"),
    ],
)
def test_unreadable_templates_say_where(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_template(write(tmp_path, text))


def test_missing_template(tmp_path):
    with pytest.raises(ConfigError, match="does not exist: check lambda_template"):
        load_template(tmp_path / "nope.yaml")


TEMPLATE = {
    "Parameters": {
        "Stage": {"Type": "String", "Default": "dev", "AllowedValues": ["dev", "prod"]},
        "Subnets": {"Type": "CommaDelimitedList", "Default": "a, b"},
        "Secret": {"Type": "String"},
    },
    "Mappings": {"Sizes": {"dev": {"Memory": 256}}},
    "Conditions": {
        "IsProd": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]},
        "IsDev": {"Fn::Not": [{"Condition": "IsProd"}]},
        "Both": {"Fn::And": [{"Condition": "IsDev"}, {"Fn::Equals": ["a", "a"]}]},
        "Either": {"Fn::Or": [{"Condition": "IsProd"}, {"Condition": "IsDev"}]},
    },
    "Resources": {
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": {"Fn::Sub": "${AWS::StackName}-t"}}},
        "Queue": {"Type": "AWS::SQS::Queue"},
    },
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"Ref": "Stage"}, "dev"),
        ({"Ref": "Subnets"}, ["a", "b"]),
        ({"Ref": "AWS::Region"}, "eu-west-1"),
        ({"Ref": "AWS::AccountId"}, "123456789012"),
        ({"Ref": "Table"}, "local-t"),  # the name the template gives it
        ({"Fn::Sub": "arn:${AWS::Partition}:s3:::${Stage}-${!Literal}"}, "arn:aws:s3:::dev-${Literal}"),
        ({"Fn::Sub": ["${A}/${Stage}", {"A": {"Ref": "AWS::Region"}}]}, "eu-west-1/dev"),
        ({"Fn::Join": ["-", ["a", {"Ref": "Stage"}, 3]]}, "a-dev-3"),
        ({"Fn::Select": [1, {"Fn::Split": [",", "x,y,z"]}]}, "y"),
        ({"Fn::FindInMap": ["Sizes", {"Ref": "Stage"}, "Memory"]}, 256),
        ({"Fn::FindInMap": ["Sizes", "prod", "Memory", {"DefaultValue": 128}]}, 128),
        ({"Fn::If": ["IsProd", "big", "small"]}, "small"),
        ({"Fn::If": ["Both", "yes", "no"]}, "yes"),
        ({"Fn::If": ["Either", "yes", "no"]}, "yes"),
        ({"Fn::Base64": "hi"}, "aGk="),
        ({"Fn::GetAtt": ["Queue", "Arn"]}, "arn:given"),
        ({"Fn::ImportValue": "Shared"}, "shared-value"),
        ({"Fn::Length": [1, 2, 3]}, 3),
        ({"Fn::ToJsonString": {"a": [1]}}, '{"a":[1]}'),
    ],
)
def test_intrinsics_resolve_as_a_stack_would(expression, expected):
    resolver = Resolver(TEMPLATE, {"Queue.Arn": "arn:given", "Shared": "shared-value"}, "eu-west-1")
    assert resolver.resolve(expression) == expected


def test_no_value_removes_the_property():
    resolver = Resolver(TEMPLATE, {}, "us-east-1")
    value = {"Keep": 1, "Drop": {"Fn::If": ["IsProd", 2, {"Ref": "AWS::NoValue"}]}}
    assert resolver.resolve(value) == {"Keep": 1}
    assert resolver.resolve({"Ref": "AWS::NoValue"}) is NO_VALUE


@pytest.mark.parametrize(
    ("expression", "key", "why"),
    [
        ({"Fn::GetAtt": ["Queue", "Arn"]}, "Queue.Arn", "known only once the stack is deployed"),
        ({"Ref": "Queue"}, "Queue", "AWS::SQS::Queue the stack creates"),
        ({"Ref": "Secret"}, "Secret", "parameter without a Default"),
        ({"Fn::ImportValue": "Other"}, "Other", "another stack's export"),
        ({"Fn::Sub": "${Queue.QueueName}"}, "Queue.QueueName", "known only once"),
    ],
)
def test_what_only_a_stack_knows_names_its_key(expression, key, why):
    with pytest.raises(Unresolved) as raised:
        Resolver(TEMPLATE, {}, "us-east-1").resolve(expression)
    assert raised.value.key == key and why in raised.value.why


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ({"Ref": "Nothing"}, "no parameter or resource Nothing"),
        ({"Fn::GetAtt": ["Nothing", "Arn"]}, "no resource Nothing"),
        ({"Fn::If": ["NoSuch", 1, 2]}, "no condition NoSuch"),
        ({"Fn::Join": ["-"]}, "malformed"),
        ({"Fn::Select": [5, ["a"]]}, "outside the list"),
    ],
)
def test_template_mistakes_are_config_errors(expression, message):
    with pytest.raises(ConfigError, match=message):
        Resolver(TEMPLATE, {}, "us-east-1").resolve(expression)


def test_parameter_outside_allowed_values():
    template = {"Parameters": {"S": {"Default": "x", "AllowedValues": ["y"]}}, "Resources": {}}
    with pytest.raises(ConfigError, match="not one of its AllowedValues"):
        Resolver(template, {}, "us-east-1").resolve({"Ref": "S"})


SAM = """
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {Type: String, Default: dev}
Globals:
  Function:
    Timeout: 10
    MemorySize: 512
    Layers: [global-layer]
    Environment:
      Variables:
        STAGE: !Ref Stage
        SHARED: from-globals
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Api:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      MemorySize: 1024
      Architectures: [arm64]
      EphemeralStorage: {Size: 2048}
      FunctionName: !Sub "${Stage}-api"
      ImageConfig:
        Command: [app.handler]
        EntryPoint: [/lambda-entrypoint.sh]
        WorkingDirectory: /var/task
      LoggingConfig: {LogFormat: JSON, ApplicationLogLevel: DEBUG, SystemLogLevel: WARN}
      Environment:
        Variables:
          SHARED: from-function
          QUEUE_ARN: !GetAtt Queue.Arn
    Metadata:
      DockerContext: ./src
      Dockerfile: Dockerfile
      DockerBuildTarget: final
      DockerBuildArgs: {STAGE: !Ref Stage}
  Plain:
    Type: AWS::Lambda::Function
    Properties:
      PackageType: Image
      Code: {ImageUri: !Sub "123456789012.dkr.ecr.${AWS::Region}.amazonaws.com/plain:${Stage}"}
      Timeout: 30
  Zipped:
    Type: AWS::Serverless::Function
    Properties: {Handler: app.handler, Runtime: python3.12, CodeUri: src/}
"""


def test_an_image_function_with_globals(tmp_path):
    template = LambdaTemplate.load(write(tmp_path, SAM), {"Queue.Arn": "arn:q"}, region="eu-west-1")
    assert template.function_names == ["Api", "Plain", "Zipped"]
    assert template.image_function_names() == ["Api", "Plain"]
    api = template.function("Api")
    assert api.platform == "linux/arm64" and api.image_uri is None
    assert api.build_fields == {
        "context": (tmp_path / "src").resolve(),
        "dockerfile": (tmp_path / "src" / "Dockerfile").resolve(),
        "build_args": {"STAGE": "dev"},
        "target": "final",
        "platform": "linux/arm64",
    }
    assert api.function_fields == {
        "env": {"STAGE": "dev", "SHARED": "from-function", "QUEUE_ARN": "arn:q"},  # maps merge, the function wins
        "memory_size": 1024,
        "timeout": 10,  # from Globals
        "function_name": "dev-api",
        "ephemeral_storage": 2048,
        "command": ("app.handler",),
        "entrypoint": ("/lambda-entrypoint.sh",),
        "working_dir": "/var/task",
        "log_format": "JSON",
        "log_level": "DEBUG",
    }


def test_cloudformation_functions_take_no_globals(tmp_path):
    plain = LambdaTemplate.load(write(tmp_path, SAM), region="eu-west-1").function("Plain")
    assert plain.image_uri == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/plain:dev"
    assert plain.build_fields is None
    assert plain.function_fields == {"timeout": 30}


def test_explicit_settings_win_over_the_template(tmp_path):
    template = LambdaTemplate.load(write(tmp_path, SAM), {"Queue.Arn": "arn:q"})
    source = TemplateSource(template, "Api", {"env": {"SHARED": "ini", "EXTRA": "1"}, "timeout": 3})
    kwargs = source.function_kwargs()
    assert kwargs["timeout"] == 3 and kwargs["memory_size"] == 1024
    assert kwargs["env"] == {"STAGE": "dev", "SHARED": "ini", "QUEUE_ARN": "arn:q", "EXTRA": "1"}
    assert source.function_kwargs("Plain")["timeout"] == 3


def test_unresolved_environment_names_each_variable_and_the_fix(tmp_path):
    source = TemplateSource(LambdaTemplate.load(write(tmp_path, SAM)), "Api")
    with pytest.raises(ConfigError) as raised:
        source.function_kwargs()
    message = str(raised.value)
    assert "QUEUE_ARN is !GetAtt Queue.Arn" in message
    assert "lambda_template_parameters = Queue.Arn=VALUE" in message and "\n" not in message
    # An explicit value for the variable is enough.
    assert (
        TemplateSource(source.template, "Api", {"env": {"QUEUE_ARN": "x"}}).function_kwargs()["env"]["QUEUE_ARN"] == "x"
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Zipped", "Zipped is a Zip function (PackageType Zip)"),
        ("Missing", "has no function 'Missing' (its functions: Api, Plain, Zipped)"),
    ],
)
def test_wrong_function_names(tmp_path, name, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        LambdaTemplate.load(write(tmp_path, SAM)).function(name)


def test_the_function_to_test_must_be_chosen_among_several(tmp_path):
    with pytest.raises(ConfigError, match=r"has 3 functions .*set lambda_template_function"):
        LambdaTemplate.load(write(tmp_path, SAM)).default_function_name()
    single = SAM.split("  Plain:")[0]
    assert LambdaTemplate.load(write(tmp_path, single)).default_function_name() == "Api"


def test_values_for_names_the_template_lacks_are_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"names Typo, which template\.yaml does not have"):
        LambdaTemplate.load(write(tmp_path, SAM), {"Typo": "x", "Stage": "prod", "Queue.Arn": "a"})


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ("Architectures: [x86_64, arm64]", "must name one of x86_64 or arm64"),
        ("ImageUri: !GetAtt Repo.Uri", "ImageUri is !GetAtt Repo.Uri .*lambda_template_parameters = Repo.Uri=VALUE"),
        ("Timeout: 5", "says neither how to build its image"),
    ],
)
def test_bad_function_properties(tmp_path, properties, message):
    text = f"""
    Resources:
      Repo: {{Type: AWS::ECR::Repository}}
      Fn:
        Type: AWS::Serverless::Function
        Properties:
          PackageType: Image
          {properties}
    """
    with pytest.raises(ConfigError, match=message):
        LambdaTemplate.load(write(tmp_path, text)).function("Fn")


NAMED = {
    "Resources": {
        "Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": {"Fn::Sub": "${AWS::StackName}-events"}}},
        "Topic": {"Type": "AWS::SNS::Topic", "Properties": {"TopicName": "alerts"}},
        "Table": {"Type": "AWS::DynamoDB::Table", "Properties": {"TableName": "orders"}},
        "Bucket": {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": "receipts"}},
        "Unnamed": {"Type": "AWS::SQS::Queue"},
    }
}


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ({"Ref": "Queue"}, "https://sqs.eu-west-1.amazonaws.com/123456789012/local-events"),
        ({"Fn::GetAtt": ["Queue", "Arn"]}, "arn:aws:sqs:eu-west-1:123456789012:local-events"),
        ({"Fn::GetAtt": ["Queue", "QueueName"]}, "local-events"),
        ({"Ref": "Topic"}, "arn:aws:sns:eu-west-1:123456789012:alerts"),
        ({"Ref": "Table"}, "orders"),
        ({"Fn::GetAtt": ["Table", "Arn"]}, "arn:aws:dynamodb:eu-west-1:123456789012:table/orders"),
        ({"Fn::Sub": "${Bucket.Arn}/*"}, "arn:aws:s3:::receipts/*"),
    ],
)
def test_named_resources_give_what_the_stack_would(expression, expected):
    assert Resolver(NAMED, {}, "eu-west-1").resolve(expression) == expected


def test_generated_names_and_unknown_attributes_stay_unresolved():
    resolver = Resolver(NAMED, {}, "eu-west-1")
    for expression in ({"Ref": "Unnamed"}, {"Fn::GetAtt": ["Table", "StreamArn"]}):
        with pytest.raises(Unresolved):
            resolver.resolve(expression)


def test_api_events_give_the_gateway_routes_and_format(tmp_path):
    text = """
    Resources:
      Fn:
        Type: AWS::Serverless::Function
        Properties:
          PackageType: Image
          ImageUri: fn:1
          Events:
            Queue: {Type: SQS, Properties: {Queue: arn}}
            Place: {Type: HttpApi, Properties: {Method: post, Path: /orders}}
            Read: {Type: HttpApi, Properties: {Method: GET, Path: "/orders/{id}"}}
            Anything: {Type: HttpApi, Properties: {Path: "/{proxy+}", Method: ANY}}
      Rest:
        Type: AWS::Serverless::Function
        Properties:
          PackageType: Image
          ImageUri: fn:1
          Events:
            Get: {Type: Api, Properties: {Method: get, Path: /items}}
      Url:
        Type: AWS::Serverless::Function
        Properties: {PackageType: Image, ImageUri: fn:1, FunctionUrlConfig: {AuthType: NONE}}
    """
    template = LambdaTemplate.load(write(tmp_path, text))
    fn = template.function("Fn")
    assert fn.gateway_format == "2.0"
    assert fn.gateway_routes == ("POST /orders", "GET /orders/{id}", "ANY /{proxy+}")
    assert (template.function("Rest").gateway_format, template.function("Rest").gateway_routes) == (
        "1.0",
        ("GET /items",),
    )
    assert (template.function("Url").gateway_format, template.function("Url").gateway_routes) == ("url", ())


@pytest.mark.parametrize(
    ("runtime", "base"),
    [
        ("python3.12", "public.ecr.aws/lambda/python:3.12"),
        ("nodejs20.x", "public.ecr.aws/lambda/nodejs:20"),
        ("java21", "public.ecr.aws/lambda/java:21"),
        ("java8.al2", "public.ecr.aws/lambda/java:8.al2"),
        ("provided.al2023", "public.ecr.aws/lambda/provided:al2023"),
        ("dotnet8", "public.ecr.aws/lambda/dotnet:8"),
        ("ruby3.3", "public.ecr.aws/lambda/ruby:3.3"),
        ("go1.x", None),
        ("python", None),
    ],
)
def test_runtime_bases(runtime, base):
    assert runtime_base(runtime) == base


ZIP_TEMPLATE = """
Globals:
  Function:
    Runtime: python3.12
    Layers: [!Ref Deps]
Resources:
  Deps:
    Type: AWS::Serverless::LayerVersion
    Properties: {ContentUri: deps/}
  Fn:
    Type: AWS::Serverless::Function
    Properties: {CodeUri: fn/, Handler: app.handler, Timeout: 9}
  Remote:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: app.handler
      Layers: ["arn:aws:lambda:us-east-1:123456789012:layer:x:1"]
  FromS3:
    Type: AWS::Lambda::Function
    Properties: {Runtime: python3.12, Handler: app.handler, Code: {S3Bucket: b, S3Key: k}}
"""


def zip_project(tmp_path: Path) -> Path:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "app.py").write_text("import lib\n\ndef handler(event, context):\n    return lib.VALUE\n")
    (tmp_path / "deps" / "python").mkdir(parents=True)
    (tmp_path / "deps" / "python" / "lib.py").write_text("VALUE = 'from the layer'\n")
    (tmp_path / "deps" / "bin").mkdir()
    (tmp_path / "deps" / "bin" / "tool").write_text("#!/bin/sh\n")
    (tmp_path / "deps" / "bin" / "tool").chmod(0o755)
    return write(tmp_path, ZIP_TEMPLATE)


def test_zip_functions_become_build_contexts_only_when_asked(tmp_path):
    path = zip_project(tmp_path)
    with pytest.raises(ConfigError, match="set lambda_template_build_zip = true"):
        LambdaTemplate.load(path).function("Fn")
    fn = LambdaTemplate.load(path, build_zip=True).function("Fn")
    assert fn.function_fields == {"timeout": 9}
    assert fn.zip_source is not None and fn.zip_source.base == "public.ecr.aws/lambda/python:3.12"
    context = fn.zip_source.context(tmp_path / "cache")
    dockerfile = (context / "Dockerfile").read_text()
    assert "ARG BASE_IMAGE=public.ecr.aws/lambda/python:3.12" in dockerfile and 'CMD ["app.handler"]' in dockerfile
    assert (context / "function" / "app.py").is_file()
    (layer,) = (context / "layers").iterdir()
    assert (layer / "python" / "lib.py").is_file()
    assert (layer / "bin" / "tool").stat().st_mode & 0o777 == 0o755  # the directory's modes kept
    # The same content finds the same context; a change makes another.
    assert fn.zip_source.context(tmp_path / "cache") == context
    (tmp_path / "fn" / "app.py").write_text("def handler(event, context):\n    return 2\n")
    assert fn.zip_source.context(tmp_path / "cache") != context


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("Remote", "layer arn:aws:lambda:us-east-1:123456789012:layer:x:1 is not a LayerVersion of this template"),
        ("FromS3", "whose code is not a local file"),
    ],
)
def test_zip_functions_without_local_artifacts(tmp_path, name, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        LambdaTemplate.load(zip_project(tmp_path), build_zip=True).function(name)


def test_a_missing_build_is_reported_only_when_the_template_builds(tmp_path):
    from pytest_lambda_image._plugin.template import template_image

    text = """
    Resources:
      Fn:
        Type: AWS::Serverless::Function
        Properties: {PackageType: Image}
        Metadata: {DockerContext: ./nowhere}
    """
    found = LambdaTemplate.load(write(tmp_path, text)).function("Fn")  # fine: --lambda-image may name the image
    with pytest.raises(ConfigError, match=r"DockerContext .*nowhere is not a directory"):
        template_image(found, {}, "template.yaml")


def test_given_parameter_values_are_typed_and_checked_like_defaults():
    resolver = Resolver(TEMPLATE, {"Subnets": "x, y", "Stage": "prod"}, "us-east-1")
    assert resolver.resolve({"Fn::Select": [1, {"Ref": "Subnets"}]}) == "y"
    assert resolver.resolve({"Fn::If": ["IsProd", "big", "small"]}) == "big"
    with pytest.raises(ConfigError, match="not one of its AllowedValues"):
        Resolver(TEMPLATE, {"Stage": "qa"}, "us-east-1").resolve({"Ref": "Stage"})
    with pytest.raises(ConfigError, match="is not a whole number"):
        Resolver(TEMPLATE, {}, "us-east-1").resolve({"Fn::Select": ["one", ["a"]]})


CONDITIONAL = """
Parameters:
  Stage: {Type: String, Default: dev}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Globals:
  Function:
    Environment: !If [IsProd, {Variables: {MODE: prod}}, {Variables: {MODE: dev}}]
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageUri: fn:1
      Environment: {Variables: {OWN: "1"}}
  ProdOnly:
    Type: AWS::Serverless::Function
    Condition: IsProd
    Properties: {PackageType: Image, ImageUri: fn:1}
"""


def test_intrinsics_around_whole_properties_and_conditional_functions(tmp_path):
    template = LambdaTemplate.load(write(tmp_path, CONDITIONAL))
    # SAM: an intrinsic on either side of a Globals merge is not merged; the function's own value wins.
    assert template.function("Fn").function_fields["env"] == {"OWN": "1"}
    assert template.function_names == ["Fn"]  # ProdOnly does not exist under Stage=dev
    assert template.default_function_name() == "Fn"
    prod = LambdaTemplate.load(write(tmp_path, CONDITIONAL), {"Stage": "prod"})
    assert prod.function_names == ["Fn", "ProdOnly"]
    only_globals = CONDITIONAL.replace('      Environment: {Variables: {OWN: "1"}}\n', "")
    assert LambdaTemplate.load(write(tmp_path, only_globals)).function("Fn").function_fields["env"] == {"MODE": "dev"}


def test_a_directory_is_packed_with_its_links_followed(tmp_path):
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "util.py").write_text("X = 1\n")
    path = zip_project(tmp_path)
    (tmp_path / "fn" / "shared").symlink_to("../shared")  # a monorepo's link out of the function
    (tmp_path / "fn" / "loop").symlink_to(".")
    fn = LambdaTemplate.load(path, build_zip=True).function("Fn")
    context = fn.zip_source.context(tmp_path / "cache")
    assert (context / "function" / "shared" / "util.py").read_text() == "X = 1\n"
    (shared / "util.py").write_text("X = 2\n")  # a change behind the link is a change of content
    assert fn.zip_source.context(tmp_path / "cache") != context


def test_the_stage_of_the_api_a_function_is_behind(tmp_path):
    """SAM's implicit REST API deploys to the stage Prod (its HTTP API to
    $default); an API of the template has its StageName."""
    text = """
    Parameters:
      Stage: {Type: String, Default: beta}
    Resources:
      Api:
        Type: AWS::Serverless::Api
        Properties: {StageName: !Ref Stage}
      Http:
        Type: AWS::Serverless::HttpApi
      Implicit:
        Type: AWS::Serverless::Function
        Properties:
          PackageType: Image
          ImageUri: fn:1
          Events: {Get: {Type: Api, Properties: {Method: get, Path: /items}}}
      Explicit:
        Type: AWS::Serverless::Function
        Properties:
          PackageType: Image
          ImageUri: fn:1
          Events: {Get: {Type: Api, Properties: {Method: get, Path: /items, RestApiId: !Ref Api}}}
      HttpFn:
        Type: AWS::Serverless::Function
        Properties:
          PackageType: Image
          ImageUri: fn:1
          Events: {Get: {Type: HttpApi, Properties: {ApiId: !Ref Http}}}
      Url:
        Type: AWS::Serverless::Function
        Properties: {PackageType: Image, ImageUri: fn:1, FunctionUrlConfig: {AuthType: NONE}}
    """
    template = LambdaTemplate.load(write(tmp_path, text))
    stages = {name: template.function(name).gateway_stage for name in ("Implicit", "Explicit", "HttpFn", "Url")}
    assert stages == {"Implicit": "Prod", "Explicit": "beta", "HttpFn": "$default", "Url": None}
