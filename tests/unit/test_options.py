"""ini options of the AWS backend and the look-ahead, read into their settings."""

from __future__ import annotations

import pytest

from pytest_lambda_image import ConfigError
from pytest_lambda_image._plugin import aws, session

from .test_gateway_options import FakeConfig


def resolve(tmp_path, **ini):
    return session.resolve(FakeConfig(tmp_path, {"lambda_image": "fn:1", **ini}))


def resolve_aws(tmp_path, **ini):
    return aws.aws_settings(FakeConfig(tmp_path, ini))


@pytest.mark.parametrize(
    ("value", "expected"),
    [(None, None), ("moto", "moto"), ("MOTO", "moto"), ("off", None), ("http://localhost:4566", "http://localhost:4566")],
)
def test_lambda_aws(tmp_path, value, expected):
    ini = {} if value is None else {"lambda_aws": value}
    assert resolve_aws(tmp_path, **ini).aws == expected


def test_lambda_aws_refuses_what_is_neither_moto_nor_a_url(tmp_path):
    with pytest.raises(ConfigError, match="invalid lambda_aws 'localstack:4566'"):
        resolve_aws(tmp_path, lambda_aws="localstack:4566")


def test_aws_isolation_and_server(tmp_path):
    settings = resolve_aws(tmp_path, lambda_aws_isolation="Session", lambda_aws_server="container")
    assert (settings.isolation, settings.server, settings.image) == (
        "session",
        "container",
        "motoserver/moto:latest",
    )
    with pytest.raises(ConfigError, match="lambda_aws_isolation"):
        resolve_aws(tmp_path / "a", lambda_aws_isolation="module")
    with pytest.raises(ConfigError, match="lambda_aws_server"):
        resolve_aws(tmp_path / "b", lambda_aws_server="remote")


@pytest.mark.parametrize(("value", "expected"), [(None, 2), ("0", 0), ("5", 5), ("false", 0), ("true", 2)])
def test_lookahead(tmp_path, value, expected):
    ini = {} if value is None else {"lambda_lookahead": value}
    assert resolve(tmp_path, **ini).lookahead == expected


def test_lookahead_refuses_other_values():
    for value in ("many", "-1", "99"):
        with pytest.raises(ConfigError, match="lambda_lookahead"):
            session.parse_lookahead(value)


def test_a_failed_resolve_fails_the_same_way_each_time(tmp_path):
    config = FakeConfig(tmp_path, {"lambda_image": "fn:1", "lambda_timeout": "nope"})
    with pytest.raises(ConfigError) as first:
        session.resolve(config)
    with pytest.raises(ConfigError) as second:
        session.resolve(config)
    assert first.value is second.value
