"""What an authorizer puts in the request context, per payload format."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import ConfigError
from ._common import ACCOUNT_ID


@dataclass(frozen=True)
class Authorizer:
    """Build with `jwt_authorizer`, `lambda_authorizer` or `iam_authorizer`."""

    kind: str  # "jwt" | "lambda" | "iam"
    claims: Mapping[str, Any] = field(default_factory=dict)
    scopes: Sequence[str] = ()
    context: Mapping[str, Any] = field(default_factory=dict)
    principal_id: str = "user"
    access_key: str = "ASIAIOSFODNN7EXAMPLE"
    user_arn: str = f"arn:aws:iam::{ACCOUNT_ID}:user/tester"
    user_id: str = "AIDACKCEVSQ6C2EXAMPLE"
    account_id: str = ACCOUNT_ID

    def rest(self) -> dict[str, Any] | None:
        """requestContext.authorizer in payload 1.0 (REST APIs)."""
        if self.kind == "jwt":
            return {"claims": _string_claims(self.claims), "scopes": list(self.scopes) or None}
        if self.kind == "lambda":
            # REST flattens the Lambda authorizer's context into the authorizer map,
            # every value a string.
            return {"principalId": self.principal_id, "integrationLatency": 0, **_rest_context(self.context)}
        return None  # IAM goes into requestContext.identity

    def rest_identity(self) -> dict[str, Any]:
        if self.kind != "iam":
            return {}
        return {
            "accessKey": self.access_key,
            "accountId": self.account_id,
            "caller": self.user_id,
            "user": self.user_id,
            "userArn": self.user_arn,
        }

    def http(self) -> dict[str, Any]:
        """requestContext.authorizer in payload 2.0 (HTTP APIs, Function URLs)."""
        if self.kind == "jwt":
            return {"jwt": {"claims": _string_claims(self.claims), "scopes": list(self.scopes) or None}}
        if self.kind == "lambda":
            return {"lambda": dict(self.context)}  # HTTP APIs keep the context's JSON types
        return {
            "iam": {
                "accessKey": self.access_key,
                "accountId": self.account_id,
                "callerId": self.user_id,
                "cognitoIdentity": None,
                "principalOrgId": None,
                "userArn": self.user_arn,
                "userId": self.user_id,
            }
        }


def _rest_context(context: Mapping[str, Any]) -> dict[str, str]:
    """A REST Lambda authorizer's context as the function gets it. AWS: values
    are strings, numbers or booleans, and the function sees them as strings
    (docs' example: "numberKey": "1", "booleanKey": "true"; api-gateway-lambda-
    authorizer-output.html). Objects and arrays are not valid values there
    (reported to end in a 500 AuthorizerConfigurationException)."""
    out = {}
    for name, value in context.items():
        if isinstance(value, bool):
            out[name] = str(value).lower()
        elif isinstance(value, (str, int, float)):
            out[name] = str(value)
        else:
            raise ConfigError(
                f"REST API Lambda authorizer context value {name!r} is {type(value).__name__}: "
                "REST APIs take only strings, numbers and booleans"
            )
    return out


def _string_claims(claims: Mapping[str, Any]) -> dict[str, str]:
    """API Gateway hands claims over as strings; arrays as "[a b c]"."""
    out = {}
    for name, value in claims.items():
        if isinstance(value, (list, tuple)):
            out[name] = "[" + " ".join(str(v) for v in value) + "]"
        elif isinstance(value, bool):
            out[name] = str(value).lower()
        else:
            out[name] = str(value)
    return out


def jwt_authorizer(claims: Mapping[str, Any], scopes: Sequence[str] = ()) -> Authorizer:
    """A JWT (HTTP API) or Cognito user pool (REST) authorizer's claims."""
    return Authorizer("jwt", claims=claims, scopes=scopes)


def lambda_authorizer(context: Mapping[str, Any] | None = None, principal_id: str = "user") -> Authorizer:
    """A Lambda authorizer's context (and, for REST, its principalId)."""
    return Authorizer("lambda", context=context or {}, principal_id=principal_id)


def iam_authorizer(
    user_arn: str = f"arn:aws:iam::{ACCOUNT_ID}:user/tester",
    access_key: str = "ASIAIOSFODNN7EXAMPLE",
    account_id: str = ACCOUNT_ID,
) -> Authorizer:
    """A SigV4-signed caller (AWS_IAM authorization)."""
    return Authorizer("iam", user_arn=user_arn, access_key=access_key, account_id=account_id)
