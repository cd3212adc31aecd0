"""Gateway settings reach LocalApiGateway from the ini file, the fixtures'
factory and the `gateway` command (no Docker: a stand-in function)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from pytest_lambda_image import ConfigError
from pytest_lambda_image.__main__ import build_parser, main
from pytest_lambda_image._plugin.gateway import GatewayFactory, GatewaySettings, gateway_settings

from .test_gateway import StandIn


class FakeConfig:
    """What the plugins' settings read from a pytest.Config: ini values, no CLI
    options, and no plugin refining the session's settings."""

    def __init__(self, tmp_path: Path, ini: dict[str, Any]) -> None:
        self.inipath = tmp_path / "pytest.ini"
        self.rootpath = tmp_path
        self.invocation_params = SimpleNamespace(dir=tmp_path)
        self.stash = pytest.Stash()
        self.hook = SimpleNamespace(pytest_lambda_settings=lambda **kwargs: None)
        self._ini = ini

    def getini(self, name: str) -> Any:
        return self._ini.get(name)

    def getoption(self, name: str) -> Any:
        return None


@pytest.mark.parametrize(("value", "expected"), [(None, False), ("true", True), ("False", False), ("1", True)])
def test_ini_option(tmp_path, value, expected):
    ini = {"lambda_image": "fn:1", "lambda_gateway_format": "alb"}
    if value is not None:
        ini["lambda_gateway_alb_multi_value_headers"] = value
    assert gateway_settings(FakeConfig(tmp_path, ini)).alb_multi_value_headers is expected


def test_ini_option_refuses_other_values(tmp_path):
    ini = {"lambda_image": "fn:1", "lambda_gateway_alb_multi_value_headers": "sometimes"}
    with pytest.raises(ConfigError, match="invalid lambda_gateway_alb_multi_value_headers 'sometimes'"):
        gateway_settings(FakeConfig(tmp_path, ini))


def test_factory_applies_the_setting_to_alb_gateways():
    factory = GatewayFactory(GatewaySettings(payload_format="alb", alb_multi_value_headers=True), StandIn)
    default = GatewayFactory(GatewaySettings(payload_format="alb"), StandIn)
    try:
        assert factory().multi_value_headers is True
        assert factory(multi_value_headers=False).multi_value_headers is False
        assert factory(payload_format="2.0").multi_value_headers is False  # only ALB has the setting
        assert default().multi_value_headers is False
    finally:
        factory.close()
        default.close()


def test_gateway_command_options():
    args = build_parser().parse_args(
        ["gateway", "fn:1", "--format", "alb", "--multi-value-headers", "--binary-media-type", "image/*"]
    )
    assert args.multi_value_headers is True and args.binary_media_type == ["image/*"]
    assert build_parser().parse_args(["gateway", "fn:1"]).multi_value_headers is False
    with pytest.raises(SystemExit):
        main(["gateway", "fn:1", "--multi-value-headers"])  # not an ALB: refused before any container starts
