"""The gateway in front of a template's functions, in real pytest sessions:
each function's own events give the format, routes and stage, so a
`template_function=` one is served as its own API, not the session's."""

from __future__ import annotations

import textwrap

from ..conftest import BASE_IMAGE

TEMPLATE = """
Transform: AWS::Serverless-2016-10-31
Resources:
  Items:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageConfig: {{Command: [handlers.proxy]}}
      Events:
        List: {{Type: Api, Properties: {{Method: get, Path: /items}}}}
    Metadata: &build
      DockerContext: ./{fn}
      DockerBuildArgs: {{BASE_IMAGE: {base}}}
  Orders:
    Type: AWS::Serverless::Function
    Properties:
      PackageType: Image
      ImageConfig: {{Command: [handlers.proxy]}}
      Events:
        Read: {{Type: HttpApi, Properties: {{Method: get, Path: "/orders/{{id}}"}}}}
    Metadata: *build
"""


def test_a_template_function_is_served_behind_its_own_api(project):
    text = TEMPLATE.format(fn=project.function_dir.name, base=BASE_IMAGE)
    (project.pytester.path / "template.yaml").write_text(textwrap.dedent(text))
    project.ini("lambda_template = template.yaml\nlambda_template_function = Items\n", dockerfile=False)
    project.tests(
        """
        import pytest
        import requests

        def test_the_session_function_behind_sams_implicit_rest_api(lambda_gateway):
            answer = requests.get(lambda_gateway.url + "/items")
            assert answer.status_code == 200 and answer.json()["route"] == "/items"
            context = lambda_gateway.last.event["requestContext"]
            assert context["stage"] == "Prod" and context["path"] == "/Prod/items"
            assert requests.get(lambda_gateway.url + "/orders/7").status_code == 403  # not a route of this API

        @pytest.mark.lambda_function(template_function="Orders")
        def test_a_marked_template_function_behind_its_http_api(lambda_gateway):
            answer = requests.get(lambda_gateway.url + "/orders/7")
            assert answer.status_code == 200, answer.text
            assert answer.json()["route"] == "GET /orders/{id}" and answer.json()["pathParameters"] == {"id": "7"}
            assert lambda_gateway.payload_format == "2.0"
            assert lambda_gateway.last.event["requestContext"]["stage"] == "$default"
            assert requests.get(lambda_gateway.url + "/items").status_code == 404

        def test_a_factory_template_function(lambda_function_factory, lambda_gateway_factory):
            gateway = lambda_gateway_factory(lambda_function_factory(template_function="Orders"))
            assert requests.get(gateway.url + "/orders/1").json()["route"] == "GET /orders/{id}"
            rest = lambda_gateway_factory(lambda_function_factory(template_function="Orders"), payload_format="1.0")
            assert rest.stage == "prod"  # the explicit format is not the template's: the gateway's own default
        """
    )
    result = project.run()
    result.assert_outcomes(passed=3)
    assert project.leftovers() == []
