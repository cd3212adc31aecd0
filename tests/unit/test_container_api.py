"""LambdaFunction as a testcontainers DockerContainer: every public method is
its own (honoured or refused), none left to testcontainers' internals."""

from __future__ import annotations

import inspect

import pytest
from testcontainers.core.container import DockerContainer

from pytest_lambda_image import ConfigError, FunctionStartError, LambdaFunction
from pytest_lambda_image._runtime.container_api import ContainerApi


def public_methods(cls: type) -> set[str]:
    return {
        name
        for name, _ in inspect.getmembers(cls)
        if not name.startswith("_") or name in ("__enter__", "__exit__")
    }


def test_no_method_of_dockercontainer_is_left_to_testcontainers():
    own = set(vars(LambdaFunction)) | set(vars(ContainerApi))
    inherited = sorted(public_methods(DockerContainer) - own)
    assert inherited == [], f"decide for each (honour or refuse) in container_api.py: {inherited}"
    assert issubclass(LambdaFunction, DockerContainer)


def test_builders_fill_the_functions_own_settings(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("# comment\nexport STAGE=test\nQUOTED='a b'\n\nEMPTY=\n")
    function = (
        LambdaFunction("fn:1")
        .with_env_file(env_file)
        .with_command("app.other")
        .with_kwargs(user="1000:1000")
        .with_name("my-fn")
        .with_network("shared")
        .with_network_aliases("fn", "orders")
        .with_volume_mapping(tmp_path, "/mnt/data")
        .with_tmpfs_mount("/scratch", "64m")
        .with_exposed_ports(5678)
        .with_bind_ports("9999/udp", 19999)
    )
    assert dict(function.config.env) == {"STAGE": "test", "QUOTED": "a b", "EMPTY": ""}
    assert function._command_override == ["app.other"]
    assert function._create_kwargs == {"user": "1000:1000"}
    assert (function._container_name, function._network_name, function._network_aliases) == (
        "my-fn",
        "shared",
        ["fn", "orders"],
    )
    assert function._mounts == {str(tmp_path): {"bind": "/mnt/data", "mode": "ro"}}
    assert function._tmpfs_mounts == {"/scratch": "size=64m"}
    assert function._extra_ports == {"5678/tcp": None, "9999/udp": 19999}
    assert function.status == "not_started"


def test_a_network_object_gives_its_name():
    class Network:
        name = "from-testcontainers"

    assert LambdaFunction("fn:1").with_network(Network())._network_name == "from-testcontainers"


def test_what_does_not_apply_is_refused_clearly(tmp_path):
    function = LambdaFunction("fn:1")
    with pytest.raises(ConfigError, match="waits for the RIE"):
        function.waiting_for(object())
    with pytest.raises(ConfigError, match="read-only root"):
        function.with_copy_into_container(b"x", "/var/task/x")
    with pytest.raises(ConfigError, match="read-only"):
        function.copy_into_container(b"x", "/tmp/x")
    with pytest.raises(ConfigError, match="the RIE's"):
        function.with_bind_ports(8080)
    with pytest.raises(ConfigError, match="reserved by Lambda"):
        function.with_env("AWS_REGION", "eu-west-1")
    bad = tmp_path / "bad.env"
    bad.write_text("NOEQUALS\n")
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        function.with_env_file(bad)


def test_accessors_before_start_say_what_to_do():
    function = LambdaFunction("fn:1")
    assert function.get_wrapped_container() is None
    for call in (function.get_container_id, function.get_logs, function.get_container_host_ip, function.reload):
        with pytest.raises(FunctionStartError, match="call start"):
            call()


def test_the_testcontainers_attributes_show_what_the_builders_set():
    function = (
        LambdaFunction("fn:1")
        .with_env("STAGE", "test")
        .with_bind_ports(5678, 15678)
        .with_volume_mapping("/srv/data", "/data")
        .with_tmpfs_mount("/scratch", "64m")
    )
    assert dict(function.env) == {"STAGE": "test"}
    assert dict(function.ports) == {"5678/tcp": 15678} or dict(function.ports) == {"5678": 15678}
    assert dict(function.volumes)["/srv/data"]["bind"] == "/data"
    assert "/scratch" in function.tmpfs
    with pytest.raises(TypeError):
        function.env["OTHER"] = "x"  # type: ignore[index]  # changed through the builders, which check it
