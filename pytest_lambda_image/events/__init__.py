"""Event factories for the sources that invoke Lambda functions, JSON Schemas
for them and for proxy responses, and the mapping of a proxy response to HTTP.

    from pytest_lambda_image import events
    event = events.apigw_rest("GET", "/items/42", resource="/items/{id}")
"""

from ._common import DELETE
from .authorizers import Authorizer, iam_authorizer, jwt_authorizer, lambda_authorizer
from .dynamodb import dynamodb_record, dynamodb_stream, to_attribute_value, to_item
from .eventbridge import eventbridge, scheduled
from .http_events import alb, apigw_http, apigw_rest, function_url
from .kinesis import kinesis, kinesis_record
from .request import HttpRequest
from .responses import HttpResponse, to_http_response
from .routes import Route
from .s3 import s3, s3_delete, s3_put, s3_record
from .sns import sns
from .sqs import sqs, sqs_message
from .validation import EventValidationError, problems, schema, schema_names, validate

__all__ = [
    "DELETE",
    "Authorizer",
    "EventValidationError",
    "HttpRequest",
    "HttpResponse",
    "Route",
    "alb",
    "apigw_http",
    "apigw_rest",
    "dynamodb_record",
    "dynamodb_stream",
    "eventbridge",
    "function_url",
    "iam_authorizer",
    "jwt_authorizer",
    "kinesis",
    "kinesis_record",
    "lambda_authorizer",
    "problems",
    "s3",
    "s3_delete",
    "s3_put",
    "s3_record",
    "scheduled",
    "schema",
    "schema_names",
    "sns",
    "sqs",
    "sqs_message",
    "to_attribute_value",
    "to_http_response",
    "to_item",
    "validate",
]
