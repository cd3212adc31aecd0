import pytest

from pytest_lambda_image import RieNotFoundError
from pytest_lambda_image._runtime.rie import RIE_IN_IMAGE, RIE_MOUNT_POINT, find_rie, plan_launch, rie_arch


def test_the_rie_goes_in_front_of_entrypoint_and_cmd():
    launch = plan_launch(["/usr/bin/python3", "-m", "awslambdaric"], ["app.handler"], rie_flags=["--log-level", "x"])
    assert launch.entrypoint == [RIE_MOUNT_POINT]
    assert launch.command == ["--log-level", "x", "/usr/bin/python3", "-m", "awslambdaric", "app.handler"]


def test_an_aws_base_image_keeps_its_entrypoint_behind_its_own_rie():
    launch = plan_launch(["/lambda-entrypoint.sh"], ["app.handler"], rie=RIE_IN_IMAGE)
    assert launch.entrypoint == [RIE_IN_IMAGE]
    assert launch.command == ["/lambda-entrypoint.sh", "app.handler"]


def test_handler_override_replaces_cmd():
    launch = plan_launch(["/lambda-entrypoint.sh"], ["app.handler"], handler="b.h")
    assert launch.command == ["/lambda-entrypoint.sh", "b.h"]
    assert plan_launch(["/bootstrap"], ["function.handler"], handler="other.h").command == ["/bootstrap", "other.h"]


def test_an_entrypoint_that_starts_the_rie_itself_loses_it():
    launch = plan_launch(["/usr/local/bin/aws-lambda-rie", "python3", "-m", "awslambdaric"], ["app.handler"])
    assert launch.command == ["python3", "-m", "awslambdaric", "app.handler"]


def test_image_with_neither_entrypoint_nor_cmd_lets_the_rie_find_bootstrap():
    launch = plan_launch(None, None)
    assert launch.entrypoint == [RIE_MOUNT_POINT] and launch.command == []


@pytest.mark.parametrize(("docker", "rie"), [("amd64", "x86_64"), ("arm64", "arm64"), ("aarch64", "arm64")])
def test_architectures(docker, rie):
    assert rie_arch(docker) == rie


def test_unsupported_architecture():
    with pytest.raises(RieNotFoundError, match="linux/amd64 or linux/arm64"):
        rie_arch("s390x")


def test_find_rie_order(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("PYTEST_LAMBDA_RIE", raising=False)
    monkeypatch.setattr("pytest_lambda_image._runtime.rie._samcli_rie", lambda arch: None)
    with pytest.raises(RieNotFoundError, match="--lambda-rie=PATH"):
        find_rie("x86_64")
    cached = tmp_path / "cache" / "pytest-lambda-image" / "rie" / "aws-lambda-rie-x86_64"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"rie")
    assert find_rie("x86_64") == cached
    explicit = tmp_path / "my-rie"
    explicit.write_bytes(b"rie")
    monkeypatch.setenv("PYTEST_LAMBDA_RIE", str(explicit))
    assert find_rie("x86_64") == explicit
    with pytest.raises(RieNotFoundError, match="aws-lambda-rie-arm64 does not exist"):
        find_rie("arm64", explicit=cached.parent)
    assert find_rie("x86_64", explicit=cached.parent) == cached


def test_explicit_rie_must_exist(tmp_path):
    with pytest.raises(RieNotFoundError, match="does not exist"):
        find_rie("x86_64", explicit=tmp_path / "missing")


def test_find_rie_in_an_installed_aws_sam_cli(tmp_path, monkeypatch):
    """aws-sam-cli ships the RIE at samcli/local/rapid/aws-lambda-rie-<arch>."""
    rapid = tmp_path / "site" / "samcli" / "local" / "rapid"
    rapid.mkdir(parents=True)
    (tmp_path / "site" / "samcli" / "__init__.py").write_text("")
    (rapid / "aws-lambda-rie-arm64").write_bytes(b"rie")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "empty-cache"))
    monkeypatch.delenv("PYTEST_LAMBDA_RIE", raising=False)
    assert find_rie("arm64") == rapid / "aws-lambda-rie-arm64"
    with pytest.raises(RieNotFoundError):
        find_rie("x86_64")
