"""A SAM template as the function's configuration, in real pytest sessions:
the image built from its Metadata, its settings in the container, explicit
ini settings over it, another of its functions for one test, and one clear
line for what cannot be worked out locally."""

from __future__ import annotations

import textwrap

from ..conftest import BASE_IMAGE

TEMPLATE = """
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Parameters:
  Stage: {{Type: String, Default: dev, AllowedValues: [dev, prod]}}
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
Globals:
  Function:
    Timeout: 10
    MemorySize: 256
    Environment:
      Variables:
        STAGE: !Ref Stage
        ENDPOINT: !Sub "https://sqs.${{AWS::Region}}.${{AWS::URLSuffix}}"
Resources:
  Orders:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${{Stage}}-orders"
  Queue:
    Type: AWS::SQS::Queue
  Api:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      FunctionName: !Sub "${{Stage}}-api"
      EphemeralStorage: {{Size: 1024}}
      ImageConfig:
        Command: [handlers.echo]
        WorkingDirectory: /opt
      LoggingConfig: {{LogFormat: JSON}}
      Environment:
        Variables:
          TABLE: !Ref Orders
          QUEUE_ARN: !GetAtt Queue.Arn
          VERBOSE: !If [IsProd, !Ref AWS::NoValue, "yes"]
    Metadata:
      DockerContext: ./{fn}
      Dockerfile: Dockerfile
      DockerBuildArgs:
        BASE_IMAGE: {base}
  Variant:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      MemorySize: 512
    Metadata:
      DockerContext: ./{fn}
      DockerBuildTarget: variant
      DockerBuildArgs:
        BASE_IMAGE: {base}
  Zipped:
    Type: AWS::Serverless::Function
    Properties: {{Handler: app.handler, Runtime: python3.12, CodeUri: src/}}
"""


def write_template(project) -> None:
    text = TEMPLATE.format(fn=project.function_dir.name, base=BASE_IMAGE)
    (project.pytester.path / "template.yaml").write_text(textwrap.dedent(text))


def test_the_template_configures_the_function(project):
    write_template(project)
    project.ini(
        """
        lambda_template = template.yaml
        lambda_template_function = Api
        lambda_template_parameters = Queue.Arn=arn:aws:sqs:us-east-1:123456789012:orders
        lambda_timeout = 7
        """,
        dockerfile=False,
    )
    project.tests(
        """
        import pytest

        def test_settings_from_the_template(lambda_function):
            body = lambda_function.invoke({"x": 1}).raise_for_error().json()
            env = body["env"]
            assert body["function_name"] == "dev-api"
            assert body["memory_limit_in_mb"] == 256  # Globals
            assert env["AWS_LAMBDA_FUNCTION_TIMEOUT"] == "7"  # the ini option wins over Globals' 10
            assert env["STAGE"] == "dev" and env["VERBOSE"] == "yes"
            assert env["ENDPOINT"] == "https://sqs.us-east-1.amazonaws.com"
            assert env["TABLE"] == "dev-orders"
            assert env["QUEUE_ARN"] == "arn:aws:sqs:us-east-1:123456789012:orders"
            assert env["AWS_LAMBDA_LOG_FORMAT"] == "JSON"
            config = lambda_function.get_wrapped_container().attrs["Config"]
            assert config["WorkingDir"] == "/opt"
            assert config["Cmd"][-1] == "handlers.echo"
            assert lambda_function.config.ephemeral_storage == 1024

        @pytest.mark.lambda_function(template_function="Variant")
        def test_another_function_of_the_template(lambda_function):
            result = lambda_function.invoke({}).raise_for_error()
            assert result.json() == "variant"  # built from the Variant target
            assert lambda_function.config.memory_size == 512
            assert lambda_function.config.timeout == 7  # the explicit setting applies to it too
            assert lambda_function.config.env["STAGE"] == "dev"
            assert "TABLE" not in lambda_function.config.env

        def test_factory_keyword(lambda_function_factory):
            function = lambda_function_factory(template_function="Variant", memory_size=1024)
            assert function.config.memory_size == 1024  # the keyword wins over the template
            assert function.invoke({}).json() == "variant"
        """
    )
    result = project.run()
    result.assert_outcomes(passed=3)
    assert project.leftovers() == []


def test_what_cannot_be_resolved_is_one_line_naming_the_fix(project):
    write_template(project)
    project.ini("lambda_template = template.yaml\nlambda_template_function = Api\n", dockerfile=False)
    project.tests(
        """
        def test_needs_the_function(lambda_function):
            pass
        """
    )
    result = project.run()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*QUEUE_ARN is !GetAtt Queue.Arn (is known only once the stack is deployed); give them with "
            "lambda_template_parameters = Queue.Arn=VALUE, or set the variables in lambda_env*"
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_bad_template_choices(project):
    write_template(project)
    project.tests(
        """
        def test_needs_the_settings(lambda_settings):
            pass
        """
    )
    for ini, message in (
        ("lambda_template = template.yaml", "*template.yaml has 3 functions*set lambda_template_function*"),
        ("lambda_template = template.yaml\nlambda_template_function = Zipped", "*Zipped is a Zip function*from-zip*"),
        ("lambda_template = template.yaml\nlambda_template_function = Nope", "*has no function 'Nope'*"),
        ("lambda_template = missing.yaml", "*missing.yaml does not exist: check lambda_template*"),
        ("lambda_template_function = Api", "*lambda_template_function names a function, but no lambda_template*"),
    ):
        project.ini(ini + "\n", dockerfile=False)
        result = project.run()
        result.assert_outcomes(errors=1)
        result.stdout.fnmatch_lines([message])
    # The same from the command line, over the ini file.
    result = project.run("--lambda-template=template.yaml", "--lambda-template-function=Zipped")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*Zipped is a Zip function*lambda_template_build_zip*"])


def test_image_uri_and_the_architecture_it_must_match(project):
    (project.pytester.path / "template.yaml").write_text(
        textwrap.dedent(
            f"""
            Resources:
              Plain:
                Type: AWS::Lambda::Function
                Properties:
                  PackageType: Image
                  Code: {{ImageUri: "{BASE_IMAGE}"}}
                  Timeout: 42
              Arm:
                Type: AWS::Lambda::Function
                Properties:
                  PackageType: Image
                  Architectures: [arm64]
                  Code: {{ImageUri: "{BASE_IMAGE}"}}
            """
        )
    )
    project.ini("lambda_template = template.yaml\nlambda_template_function = Plain\n", dockerfile=False)
    project.tests(
        f"""
        import pytest

        def test_the_image_the_template_names(lambda_image, lambda_settings):
            assert lambda_image.ref == "{BASE_IMAGE}"
            assert lambda_settings.function.timeout == 42

        @pytest.mark.lambda_function(template_function="Arm")
        def test_an_arm64_function_on_an_amd64_image(lambda_function):
            pass
        """
    )
    result = project.run()
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*is for linux/amd64, but template.yaml's function Arm runs on linux/arm64*"])


SAM_BUILD_OUTPUT = """
# What `sam build` leaves in .aws-sam/build: each function's and layer's content in a directory.
Resources:
  Deps:
    Type: AWS::Serverless::LayerVersion
    Properties: {{ContentUri: Deps, CompatibleRuntimes: [python3.11]}}
  Greeter:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: Greeter
      Handler: app.handler
      Runtime: python3.11
      MemorySize: 320
      Layers: [!Ref Deps]
      Environment: {{Variables: {{GREETING: hello}}}}
"""


def test_a_zip_function_of_the_template_runs_as_the_image_of_its_code_and_layers(project):
    root = project.pytester.path
    (root / "Greeter").mkdir()
    (root / "Greeter" / "app.py").write_text(
        textwrap.dedent(
            """
            import os

            import greeting


            def handler(event, context):
                return {"text": greeting.greet(os.environ["GREETING"], event["name"]), "cwd": os.getcwd()}
            """
        )
    )
    (root / "Deps" / "python").mkdir(parents=True)
    (root / "Deps" / "python" / "greeting.py").write_text("def greet(word, name):\n    return f'{word}, {name}'\n")
    (root / "template.yaml").write_text(textwrap.dedent(SAM_BUILD_OUTPUT.format()))
    project.ini(
        f"""
        lambda_template = template.yaml
        lambda_template_build_zip = true
        lambda_build_args = BASE_IMAGE={BASE_IMAGE}
        """,
        dockerfile=False,
    )
    project.tests(
        """
        def test_greets(lambda_function):
            body = lambda_function.invoke({"name": "Ana"}).raise_for_error().json()
            assert body == {"text": "hello, Ana", "cwd": "/var/task"}
            assert lambda_function.config.memory_size == 320

        def test_layout(lambda_audit):
            assert "/opt/python/greeting.py" in {entry.path for entry in lambda_audit().filesystem.walk("/opt")}
        """
    )
    result = project.run()
    result.assert_outcomes(passed=2)
    assert project.leftovers() == []
