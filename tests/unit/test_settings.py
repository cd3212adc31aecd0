import pytest

from pytest_lambda_image import BuildSpec, ConfigError, FunctionConfig
from pytest_lambda_image._runtime.settings import parse_key_values, parse_memory_size, parse_timeout


@pytest.mark.parametrize(("value", "expected"), [(3, 3), ("30", 30), (" 900 ", 900), (5.0, 5), (1, 1)])
def test_timeout_accepts_whole_seconds(value, expected):
    assert parse_timeout(value) == expected


@pytest.mark.parametrize("value", [2.5, "2.5", 0, 901, -1, "3s", "", None, True])
def test_timeout_rejects_what_the_rie_cannot_read(value):
    with pytest.raises(ConfigError, match="whole number of seconds from 1 to 900"):
        parse_timeout(value)


@pytest.mark.parametrize("value", [127, 10241, "1GB", 512.5])
def test_memory_size_limits(value):
    with pytest.raises(ConfigError, match="from 128 to 10240"):
        parse_memory_size(value)


def test_key_values_from_lines_and_mappings():
    assert parse_key_values(["A=1", " B = two ", "# comment", "", "C=x=y"], "env") == {"A": "1", "B": "two", "C": "x=y"}
    assert parse_key_values({"N": 3, "F": True}, "env") == {"N": "3", "F": "true"}
    with pytest.raises(ConfigError, match="write it as KEY=VALUE"):
        parse_key_values(["NOEQUALS"], "build arg")
    with pytest.raises(ConfigError, match="strings or numbers"):
        parse_key_values({"A": {"nested": 1}}, "env")


def test_function_config_defaults_match_lambda():
    config = FunctionConfig()
    assert (config.timeout, config.memory_size, config.region) == (3, 128, "us-east-1")
    assert config.pass_aws_credentials is False


def test_function_config_replace_merges_env_and_validates():
    config = FunctionConfig(env={"A": "1"}).replace(env={"B": 2}, timeout="10")
    assert config.env == {"A": "1", "B": "2"} and config.timeout == 10
    with pytest.raises(ConfigError, match="unknown function setting"):
        config.replace(timout=3)
    with pytest.raises(ConfigError, match="memory size"):
        config.replace(memory_size=64)


def test_function_config_rejects_bad_names_and_oversized_env():
    with pytest.raises(ConfigError, match="function name"):
        FunctionConfig(function_name="has spaces")
    with pytest.raises(ConfigError, match="environment variable name"):
        FunctionConfig(env={"1BAD": "x"})
    with pytest.raises(ConfigError, match="Lambda refuses a configuration over 4096 bytes"):
        FunctionConfig(env={"BIG": "x" * 5000})
    with pytest.raises(ConfigError, match="handler"):
        FunctionConfig(handler=" ")


def test_the_environment_size_is_counted_in_utf8_bytes_as_lambda_and_the_audit_count_it():
    from pytest_lambda_image.audit.limits import env_findings

    accented = {"A": "é" * 2047}  # 2,048 characters, 4,095 bytes
    FunctionConfig(env=accented)
    over = {"A": "é" * 2048}  # 2,049 characters, 4,097 bytes
    with pytest.raises(ConfigError, match="take 4097 bytes"):
        FunctionConfig(env=over)
    assert env_findings(["A=" + "é" * 2047]) == [] and len(env_findings(["A=" + "é" * 2048])) == 1


@pytest.mark.parametrize(
    "region",
    [
        "us-east-1",
        "eu-west-3",
        "ap-southeast-7",
        "mx-central-1",
        "cn-northwest-1",
        "us-gov-west-1",
        "us-isob-east-1",
        "us-isof-south-1",
        "eu-isoe-west-1",
        "eusc-de-east-1",
        "il-central-1",
        "ap-northeast-12",
    ],
)
def test_region_names_of_every_partition_are_taken(region):
    assert FunctionConfig(region=region).region == region


@pytest.mark.parametrize(
    "region", ["mars-1", "us-east1", "US-EAST-1", "us-east-1 ", "us-mars-1", "xx-east-1", "us-east-0", "", None, 1]
)
def test_a_region_lambda_does_not_have_is_refused(region):
    with pytest.raises(ConfigError, match=r"invalid region .*: give an AWS region name such as us-east-1"):
        FunctionConfig(region=region)


def test_the_region_pattern_takes_every_region_botocore_knows():
    botocore = pytest.importorskip("botocore")
    import json
    from pathlib import Path

    from pytest_lambda_image._lambda import REGION_NAME

    partitions = json.loads((Path(botocore.__file__).parent / "data" / "partitions.json").read_text())["partitions"]
    regions = [name for p in partitions for name in p["regions"] if not name.endswith("-global")]
    assert len(regions) > 30
    assert [name for name in regions if not REGION_NAME.fullmatch(name)] == []


def test_build_spec(tmp_path):
    spec = BuildSpec(tmp_path, build_args={"A": 1})
    assert spec.dockerfile_path == tmp_path / "Dockerfile"
    assert spec.build_args == {"A": "1"}
    assert (
        BuildSpec(tmp_path, dockerfile="docker/Dockerfile.lambda").dockerfile_path
        == tmp_path / "docker/Dockerfile.lambda"
    )
    with pytest.raises(ConfigError, match="linux/amd64 or linux/arm64"):
        BuildSpec(tmp_path, platform="linux/386")
