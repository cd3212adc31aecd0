from pytest_lambda_image import LambdaImage
from pytest_lambda_image._runtime.engine import docker_host_address
from pytest_lambda_image._runtime.image import split_reference
from pytest_lambda_image.build.inputs import base_images


def test_split_reference():
    assert split_reference("fn") == ("fn", None, None)
    assert split_reference("fn:1.2") == ("fn", "1.2", None)
    assert split_reference("127.0.0.1:5000/team/fn:v1") == ("127.0.0.1:5000/team/fn", "v1", None)
    assert split_reference("127.0.0.1:5000/fn@sha256:abc") == ("127.0.0.1:5000/fn", None, "sha256:abc")


def test_base_images_substitute_args_and_skip_stages():
    dockerfile = """
ARG BASE_IMAGE=public.ecr.aws/lambda/python:3.12
FROM ${BASE_IMAGE} AS build
RUN make
FROM build AS test
FROM --platform=linux/arm64 $BASE_IMAGE
FROM scratch
"""
    assert base_images(dockerfile, {}) == ["public.ecr.aws/lambda/python:3.12"] * 2
    assert base_images(dockerfile, {"BASE_IMAGE": "local/base:1"}) == ["local/base:1"] * 2


def test_function_name_from_image():
    assert LambdaImage(ref="123.dkr.ecr.eu-west-1.amazonaws.com/team/my-fn:abc", id="x").name == "my-fn"
    assert LambdaImage(ref="127.0.0.1:5000/fn@sha256:abc", id="x").name == "fn"
    assert LambdaImage(ref="sha256:abcdef", id="x").name == "function"


def test_where_published_ports_are_reached():
    assert docker_host_address(None) == "127.0.0.1"
    assert docker_host_address("unix:///var/run/docker.sock") == "127.0.0.1"
    assert docker_host_address("tcp://127.0.0.1:2375") == "127.0.0.1"
    assert docker_host_address("tcp://build-box.internal:2376") == "build-box.internal"
    assert docker_host_address("ssh://ci@bigger-engine") == "bigger-engine"
