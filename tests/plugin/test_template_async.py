"""A template's EventInvokeConfig and DeadLetterQueue in real pytest
sessions: `invoke_async(lambda_function, event)` retries, delivers and
dead-letters as the template says, with no settings in the test."""

from __future__ import annotations

import textwrap

from ..conftest import BASE_IMAGE

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Failures:
    Type: AWS::SQS::Queue
    Properties: {{QueueName: failures}}
  Dlq:
    Type: AWS::SQS::Queue
  Failing:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageConfig: {{Command: [handlers.fail]}}
      DeadLetterQueue: {{Type: SQS, TargetArn: !GetAtt Dlq.Arn}}
      EventInvokeConfig:
        MaximumRetryAttempts: 1
        DestinationConfig:
          OnFailure: {{Type: SQS, Destination: !GetAtt Failures.Arn}}
    Metadata: &build
      DockerContext: ./{fn}
      DockerBuildArgs: {{BASE_IMAGE: {base}}}
  Ok:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageConfig: {{Command: [handlers.echo]}}
      EventInvokeConfig:
        DestinationConfig:
          OnSuccess: {{Type: Lambda, Destination: !GetAtt Receiver.Arn}}
    Metadata: *build
  Receiver:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: receiver
      PackageType: Image
      ImageConfig: {{Command: [handlers.echo]}}
    Metadata: *build
"""


def test_the_templates_async_settings_apply_without_test_code(project):
    text = TEMPLATE.format(fn=project.function_dir.name, base=BASE_IMAGE)
    (project.pytester.path / "template.yaml").write_text(textwrap.dedent(text))
    project.ini(
        """
        lambda_template = template.yaml
        lambda_template_function = Failing
        """,
        dockerfile=False,
    )
    project.tests(
        """
        import json

        import pytest

        from pytest_lambda_image import invoke_async

        def test_failures_go_where_the_template_says(lambda_function, lambda_aws):
            handle = invoke_async(lambda_function, {"why": "template"}).wait()
            assert len(handle.attempts) == 2  # MaximumRetryAttempts: 1
            sqs = lambda_aws.client("sqs")
            (message,) = sqs.receive_message(QueueUrl=sqs.get_queue_url(QueueName="failures")["QueueUrl"])["Messages"]
            record = json.loads(message["Body"])
            assert record["requestContext"]["condition"] == "RetriesExhausted"
            assert record["requestContext"]["requestId"] == handle.request_id
            # a queue the template does not name is its logical id's
            (message,) = sqs.receive_message(QueueUrl=sqs.get_queue_url(QueueName="Dlq")["QueueUrl"])["Messages"]
            assert json.loads(message["Body"]) == {"why": "template"}

        @pytest.mark.lambda_function(template_function="Ok")
        def test_a_lambda_destination_of_the_template(lambda_function):
            handle = invoke_async(lambda_function, {"n": 1}).wait()
            (delivered,) = handle.config.on_success.invocations
            assert delivered.wait().ok and delivered.function.function_name == "receiver"
            event = delivered.attempts[0].json()["event"]
            assert event["requestContext"]["requestId"] == handle.request_id
            assert event["requestPayload"] == {"n": 1}

        def test_the_factory_too(lambda_function_factory):
            function = lambda_function_factory(template_function="Ok")
            assert invoke_async(function, {}).wait().config.on_success is not None
            assert invoke_async(function, {}, retries=0).wait().config.maximum_retry_attempts == 0
        """
    )
    result = project.run()
    result.assert_outcomes(passed=3)
    assert project.leftovers() == []
