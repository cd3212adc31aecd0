"""A template function's async invocation settings: SAM's EventInvokeConfig
and DeadLetterQueue, CloudFormation's DeadLetterConfig and
AWS::Lambda::EventInvokeConfig, destinations named as the stack would name them."""

from __future__ import annotations

import pytest

from pytest_lambda_image.errors import ConfigError
from pytest_lambda_image.template import AsyncSettings, DestinationRef, LambdaTemplate

from .test_template import write

SAM = """
Transform: AWS::Serverless-2016-10-31
Globals:
  Function:
    EventInvokeConfig:
      MaximumEventAgeInSeconds: 120
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageUri: fn:latest
      DeadLetterQueue: {Type: SQS, TargetArn: !GetAtt Dlq.Arn}
      EventInvokeConfig:
        MaximumRetryAttempts: 1
        DestinationConfig:
          OnSuccess: {Type: SNS, Destination: !Ref Done}
          OnFailure: {Type: Lambda, Destination: !GetAtt Handler.Arn}
  Handler:
    Type: AWS::Serverless::Function
    Properties: {PackageType: Image, ImageUri: fn:latest}
  Dlq: {Type: AWS::SQS::Queue}
  Done:
    Type: AWS::SNS::Topic
    Properties: {TopicName: done-topic}
  Plain:
    Type: AWS::Serverless::Function
    Properties: {PackageType: Image, ImageUri: fn:latest}
"""

CLOUDFORMATION = """
Parameters:
  FailureArn: {Type: String}
Resources:
  Fn:
    Type: AWS::Lambda::Function
    Properties:
      PackageType: Image
      Code: {ImageUri: fn:latest}
      DeadLetterConfig: {TargetArn: arn:aws:sns:eu-west-1:123456789012:dead}
  Config:
    Type: AWS::Lambda::EventInvokeConfig
    Properties:
      FunctionName: !Ref Fn
      Qualifier: $LATEST
      MaximumRetryAttempts: 0
      DestinationConfig:
        OnFailure: {Destination: !Ref FailureArn}
        OnSuccess: {Destination: !GetAtt Bus.Arn}
  Bus:
    Type: AWS::Events::EventBus
    Properties: {Name: results}
"""


def test_sam_event_invoke_config_and_dead_letter_queue(tmp_path):
    template = LambdaTemplate.load(write(tmp_path, SAM), region="eu-west-1")
    assert template.async_settings("Fn") == AsyncSettings(
        maximum_retry_attempts=1,
        maximum_event_age=120,  # from Globals
        on_success=DestinationRef("sns", "arn:aws:sns:eu-west-1:123456789012:done-topic"),
        on_failure=DestinationRef("lambda", "arn:aws:lambda:eu-west-1:123456789012:function:Handler", "Handler"),
        # a queue the template does not name: its logical id names it locally
        dead_letter=DestinationRef("sqs", "arn:aws:sqs:eu-west-1:123456789012:Dlq"),
    )
    assert template.async_settings("Plain") == AsyncSettings(maximum_event_age=120)


def test_cloudformation_event_invoke_config_resource(tmp_path):
    path = write(tmp_path, CLOUDFORMATION)
    template = LambdaTemplate.load(path, {"FailureArn": "arn:aws:sqs:us-east-1:123456789012:failed"})
    assert template.async_settings("Fn") == AsyncSettings(
        maximum_retry_attempts=0,
        on_success=DestinationRef("events", "arn:aws:events:us-east-1:123456789012:event-bus/results"),
        on_failure=DestinationRef("sqs", "arn:aws:sqs:us-east-1:123456789012:failed"),
        dead_letter=DestinationRef("sns", "arn:aws:sns:eu-west-1:123456789012:dead"),
    )


def test_a_destination_only_the_stack_knows_fails_when_read(tmp_path):
    template = LambdaTemplate.load(write(tmp_path, CLOUDFORMATION))
    assert template.function("Fn").logical_id == "Fn"  # loading the function does not read them
    with pytest.raises(ConfigError, match=r"its OnFailure destination is !Ref FailureArn .*FailureArn=VALUE"):
        template.async_settings("Fn")


def test_a_destination_sam_would_create_must_be_named(tmp_path):
    text = SAM.replace("OnSuccess: {Type: SNS, Destination: !Ref Done}", "OnSuccess: {Type: SQS}")
    with pytest.raises(ConfigError, match="OnSuccess has no Destination"):
        LambdaTemplate.load(write(tmp_path, text)).async_settings("Fn")
