"""The AWS backend as users meet it: moto's server (or an endpoint they run)
that their functions' SDKs reach through AWS_ENDPOINT_URL, seeded and checked
from the tests, with real function images and real servers."""

from __future__ import annotations

import shutil
import threading

import pytest

from ..conftest import EXAMPLES
from .conftest import Project

ORDERS = EXAMPLES / "orders-function"
ORDER_RESOURCES = """
    def create_resources(aws):
        aws.client("dynamodb").create_table(
            TableName="orders",
            KeySchema=[{"AttributeName": "orderId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "orderId", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        aws.client("s3").create_bucket(Bucket="order-receipts")
        aws.client("sqs").create_queue(QueueName="order-events")
"""


@pytest.fixture
def plain_project(pytester, lambda_engine, monkeypatch) -> Project:
    monkeypatch.delenv("TESTCONTAINERS_RYUK_DISABLED", raising=False)
    return Project(pytester, lambda_engine, pytester.path)


def orders_ini(project: Project, image, aws: str = "moto") -> None:
    """The example's own settings (its SAM template), with its pre-built image
    named explicitly, as a CI gate would (the template's build is not used)."""
    settings = (ORDERS / "pyproject.toml").read_text()
    assert 'lambda_template = "template.yaml"' in settings
    settings = settings.replace('lambda_aws = "moto"', f'lambda_aws = "{aws}"')
    settings += f'lambda_image = "{image.ref}"\n'
    (project.pytester.path / "pyproject.toml").write_text(settings)
    shutil.copy(ORDERS / "template.yaml", project.pytester.path / "template.yaml")


@pytest.fixture
def loopback_endpoint():
    """A server standing in for LocalStack: moto, on loopback only."""
    from pytest_lambda_image.aws.backend import _moto_server

    server = _moto_server()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    yield f"http://{host}:{port}"
    server.shutdown()
    server.server_close()
    thread.join()


def test_the_orders_example_passes_under_xdist(plain_project, orders_image):
    """Side effects in DynamoDB, S3 and SQS, a fresh backend per test and an
    SQS consumer fed by the event source helper, on two workers."""
    orders_ini(plain_project, orders_image)
    shutil.copy(ORDERS / "tests" / "test_orders.py", plain_project.pytester.path / "test_orders.py")

    result = plain_project.run("-n", "2")

    result.assert_outcomes(passed=5)
    assert plain_project.leftovers() == []


def session_networks(project: Project) -> list[str]:
    found = []
    for session in project.sessions():
        found += project.engine.client.api.networks(filters={"label": f"pytest-lambda-image.session={session}"})
    return [n["Name"] for n in found]


def test_moto_in_a_container_for_engines_that_cannot_reach_this_machine(plain_project, orders_image, moto_server_image):
    """What a remote engine gets: moto on a network of its own that the
    functions join, reached by the tests through a published port."""
    orders_ini(plain_project, orders_image)
    with (plain_project.pytester.path / "pyproject.toml").open("a") as ini:
        ini.write(f'lambda_aws_server = "container"\nlambda_aws_image = "{moto_server_image.ref}"\n')
    shutil.copy(ORDERS / "tests" / "test_orders.py", plain_project.pytester.path / "test_orders.py")
    plain_project.tests(
        """
        def test_the_function_is_on_morts_network(lambda_function, lambda_aws):
            assert lambda_aws.network and lambda_aws.network.startswith("pytest-lambda-aws-")
            attrs = lambda_function.get_wrapped_container().attrs
            assert list(attrs["NetworkSettings"]["Networks"]) == [lambda_aws.network]
            assert lambda_function.environment()["AWS_ENDPOINT_URL"].endswith(":5000")
        """.replace("morts", "motos")
    )

    result = plain_project.run()

    result.assert_outcomes(passed=6)
    assert plain_project.leftovers() == [] and session_networks(plain_project) == []


def test_a_killed_sessions_moto_container_and_network_are_reaped(plain_project, moto_server_image):
    plain_project.pytester.makeini(
        f"[pytest]\nlambda_aws_server = container\nlambda_aws_image = {moto_server_image.ref}\n"
    )
    plain_project.tests(
        f"""
        import time

        def test_waits(lambda_aws):
            open({str(plain_project.ready_file)!r}, "w").close()
            time.sleep(60)
        """
    )
    process = plain_project.start_until_ready()
    process.kill()  # SIGKILL: nothing in that process can clean up
    process.wait()
    assert len(session_networks(plain_project)) <= 1  # (another worker's inner session may have reaped it)

    plain_project.tests("def test_next(lambda_engine):\n    pass\n")
    plain_project.run().assert_outcomes(passed=1)
    assert plain_project.leftovers() == [] and session_networks(plain_project) == []


def test_only_tests_that_ask_get_the_backend_and_never_the_hosts_credentials(project, monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAIOSFODNN7EXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    project.ini()
    project.tests(
        """
        import pytest

        def env(function):
            return function.invoke({}).json()["env"]

        def test_with_the_backend(lambda_function, lambda_aws):
            seen = env(lambda_function)
            assert seen["AWS_ENDPOINT_URL"] == lambda_aws.function_endpoint_url
            assert lambda_aws.endpoint_url.startswith("http://127.0.0.1:")
            assert not lambda_aws.function_endpoint_url.startswith("http://127.")
            assert (seen["AWS_ACCESS_KEY_ID"], seen["AWS_SECRET_ACCESS_KEY"]) == ("testing", "testing")

        def test_without_it(lambda_function):
            seen = env(lambda_function)
            assert "AWS_ENDPOINT_URL" not in seen and not seen.get("AWS_ACCESS_KEY_ID")  # the RIE sets it empty

        @pytest.mark.lambda_function(pass_aws_credentials=True)
        def test_the_backends_fake_credentials_win_over_the_hosts(lambda_function, lambda_aws):
            assert env(lambda_function)["AWS_ACCESS_KEY_ID"] == "testing"

        @pytest.mark.lambda_function(env={"AWS_ENDPOINT_URL": "http://203.0.113.9:4566"})
        def test_the_users_own_endpoint_wins(lambda_function, lambda_aws):
            assert env(lambda_function)["AWS_ENDPOINT_URL"] == "http://203.0.113.9:4566"

        def test_factory_functions_get_it_too(lambda_function_factory, lambda_aws):
            assert env(lambda_function_factory())["AWS_ENDPOINT_URL"] == lambda_aws.function_endpoint_url

        def test_clients_use_fake_credentials(lambda_aws):
            credentials = lambda_aws.session().get_credentials()
            assert credentials.access_key == "testing"
            assert lambda_aws.client("sts").get_caller_identity()["Account"] == "123456789012"
        """
    )

    result = project.run("-v")

    result.assert_outcomes(passed=6)
    assert "AKIAIOSFODNN7EXAMPLE" not in result.stdout.str()


def test_an_endpoint_given_by_url_is_used_and_loopback_is_relayed(plain_project, orders_image, loopback_endpoint):
    import boto3

    orders_ini(plain_project, orders_image, aws=loopback_endpoint)
    plain_project.tests(
        ORDER_RESOURCES
        + """
    import pytest
    from pytest_lambda_image import events

    def test_order(lambda_function, lambda_aws):
        assert lambda_aws.endpoint_url == "ENDPOINT"
        create_resources(lambda_aws)
        order = {"customer": "ext", "items": [{"sku": "a", "price": "1"}]}
        result = lambda_function.invoke(events.apigw_http("POST", "/orders", json_body=order))
        assert result.ok and result.json()["statusCode"] == 201, result.text
        with pytest.raises(Exception, match="cannot be reset"):
            lambda_aws.reset()
    """.replace("ENDPOINT", loopback_endpoint)
    )

    result = plain_project.run()

    result.assert_outcomes(passed=1)
    client = boto3.client(
        "dynamodb",
        endpoint_url=loopback_endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    items = client.scan(TableName="orders")["Items"]
    assert [item["customer"]["S"] for item in items] == ["ext"]


def test_a_session_wide_backend_keeps_state_between_tests(plain_project):
    plain_project.pytester.makeini("[pytest]\nlambda_aws_isolation = session\n")
    plain_project.tests(
        """
        def test_first(lambda_aws):
            lambda_aws.client("s3").create_bucket(Bucket="kept")

        def test_second(lambda_aws):
            assert [b["Name"] for b in lambda_aws.client("s3").list_buckets()["Buckets"]] == ["kept"]
        """
    )

    plain_project.run("-p", "no:randomly").assert_outcomes(passed=2)


def test_without_moto_the_fixture_says_what_to_install(plain_project):
    plain_project.pytester.makeconftest(
        """
        import sys
        sys.modules["moto"] = None  # as if the aws extra were not installed
        """
    )
    plain_project.tests(
        """
        def test_needs_aws(lambda_aws):
            pass
        """
    )

    result = plain_project.run()

    result.assert_outcomes(errors=1)
    assert "the AWS backend needs moto's server: pip install 'pytest-lambda-image[aws]'" in result.stdout.str()
    assert "Traceback" not in result.stdout.str()


def test_a_bad_setting_is_one_clear_line(plain_project):
    plain_project.pytester.makeini("[pytest]\nlambda_aws = localstack:4566\n")
    plain_project.tests("def test_x(lambda_aws):\n    pass\n")

    result = plain_project.run()

    result.stdout.fnmatch_lines(["*invalid lambda_aws 'localstack:4566': use moto, or an endpoint URL*"])
