"""The credential audit on real images built from tests/images/audit: each
leak pattern is found where it really is, masked; the safe patterns pass."""

from __future__ import annotations

import os
import shutil
import subprocess
import uuid

import pytest

from pytest_lambda_image.audit import AuditFailure, ImageAudit
from tests import fakes
from tests.conftest import BASE_IMAGE, IMAGES, remove_repository


@pytest.fixture
def build_case(tmp_path, lambda_engine, lambda_image_factory, base_image):
    """Build tests/images/audit/<case> from a private copy of its context
    (plus `files` written into it); audit it; remove it afterwards."""
    built: list[tuple[str, ImageAudit]] = []

    def build(case: str, build_args: dict[str, str] | None = None, files: dict[str, str] | None = None) -> ImageAudit:
        name = f"{case}-{uuid.uuid4().hex[:8]}"
        context = tmp_path / name
        shutil.copytree(IMAGES / "audit" / case, context)
        for file_name, text in (files or {}).items():
            (context / file_name).write_text(text)
        image = lambda_image_factory.build(context, build_args={"BASE_IMAGE": BASE_IMAGE, **(build_args or {})})
        audit = ImageAudit.of(lambda_engine, image)
        built.append((f"pytest-lambda-image/{name}", audit))
        return audit

    yield build
    for repository, audit in built:
        audit.close()
        remove_repository(lambda_engine, repository)


def findings(report) -> list[tuple[str, str]]:
    return [(f.rule, f.path) for f in report.findings]


def assert_masked(report, *secrets: str) -> None:
    text = report.format()
    for secret in secrets:
        assert secret not in text
        assert secret[:4] + "****" + secret[-4:] in text


def test_clean_multistage_build_passes(build_case):
    audit = build_case("clean-multistage", {"GITHUB_TOKEN": fakes.github_token()})
    report = audit.credentials()
    assert report.ok and report.findings == [], report.format()
    audit.assert_no_credentials()
    assert audit.filesystem.read("/var/task/private_lib.py") == b'VERSION = "1.0"\n'


def test_realistic_function_image_is_clean(lambda_audit, python_image):
    """tests/images/python-fn: the stand-in base, awslambdaric and its
    dependencies, and the function's code."""
    lambda_audit(python_image).assert_no_credentials()


def test_build_arg_leak_is_found_in_history(build_case):
    key_id, secret = fakes.access_key_id(), fakes.secret_access_key()
    audit = build_case("build-arg-leak", {"AWS_ACCESS_KEY_ID": key_id, "AWS_SECRET_ACCESS_KEY": secret})
    report = audit.credentials()
    step = next(f.path for f in report.findings)
    assert sorted(findings(report)) == [("aws-access-key-id", step), ("aws-secret-access-key", step)]
    assert step.startswith("history:")
    assert "history step" in report.findings[0].where and "/bin/sh -c test -n" in report.findings[0].where
    assert_masked(report, key_id, secret)
    with pytest.raises(AuditFailure, match=r"\[aws-secret-access-key\] history step \d+"):
        audit.assert_no_credentials()


def test_env_token_is_found_in_config_and_history(build_case):
    token = fakes.github_token()
    audit = build_case("env-token", {"TOKEN": token})
    report = audit.credentials()
    paths = {path for _, path in findings(report)}
    assert {rule for rule, _ in findings(report)} == {"github-token"}
    assert "env:GITHUB_TOKEN" in paths and any(p.startswith("history:") for p in paths)
    assert_masked(report, token)


def test_label_token_is_found(build_case):
    token = fakes.github_fine_grained()
    audit = build_case("label-token", {"TOKEN": token})
    report = audit.credentials()
    assert ("github-fine-grained-token", "label:org.example.ci-token") in findings(report)
    assert_masked(report, token)


def test_credentials_deleted_in_a_later_layer_are_still_found(build_case):
    key_id, secret = fakes.access_key_id("del"), fakes.secret_access_key("del")
    credentials = f"[default]\naws_access_key_id = {key_id}\naws_secret_access_key = {secret}\n"
    audit = build_case("deleted-credentials", files={"credentials": credentials})
    assert audit.filesystem.get("/root/.aws/credentials") is None  # gone from the final view...
    report = audit.credentials()
    assert sorted(findings(report)) == [
        ("aws-access-key-id", "/root/.aws/credentials"),
        ("aws-credentials-file", "/root/.aws/credentials"),
    ]
    where = report.findings[0].where
    assert "deleted in layer" in where and "but still shipped in the image" in where  # ...but not from the image
    assert_masked(report, key_id, secret)


def test_private_key_file_is_found(build_case):
    audit = build_case("private-key", files={"server.key": fakes.private_key()})
    report = audit.credentials()
    assert findings(report) == [("private-key", "/var/task/certs/server.key")]
    body = fakes.private_key().splitlines()[1]
    assert body not in report.format()


def test_allowlist_by_rule_path_and_fingerprint(build_case):
    audit = build_case("private-key", files={"server.key": fakes.private_key()})
    fingerprint = audit.credentials().findings[0].fingerprint
    assert audit.credentials(allow=["path=/var/task/certs/*"]).ok
    assert audit.credentials(allow=[f"fingerprint={fingerprint}"]).ok
    assert audit.credentials(allow=["rule=private-key"]).ok
    assert not audit.credentials(allow=["rule=github-token"]).ok
    assert "1 allowlisted" in audit.credentials(allow=["rule=private-key"]).checked
    audit.assert_no_credentials(allow=["rule=private-key path=/var/task/certs/server.key"])


def test_buildkit_secret_mount_passes(tmp_path, lambda_engine, base_image):
    """The secret is mounted for one RUN step only: nothing in history or layers."""
    docker_cli = shutil.which("docker", path="/usr/bin")  # Debian's 20.10 CLI has the built-in BuildKit client
    if docker_cli is None:
        pytest.skip("BuildKit needs the docker CLI from the docker.io package at /usr/bin/docker")
    secret = tmp_path / "npmrc"
    secret.write_text(f"//registry.npmjs.org/:_authToken={fakes.password('npm')}\n")
    tag = f"pytest-lambda-image/buildkit-secret-{uuid.uuid4().hex[:8]}:test"
    subprocess.run(
        [docker_cli, "build", "-q", "--secret", f"id=npmrc,src={secret}", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}",
         "-t", tag, str(IMAGES / "audit" / "buildkit-secret")],
        check=True, env={**os.environ, "DOCKER_BUILDKIT": "1"}, capture_output=True,
    )  # fmt: skip
    try:
        with ImageAudit.of(lambda_engine, tag) as audit:
            assert audit.filesystem.read("/var/task/fetched.txt") == b"packages fetched\n"  # the step did see it
            audit.assert_no_credentials()
    finally:
        remove_repository(lambda_engine, tag.split(":")[0])


def test_leaks_in_large_files_layer_packages_and_client_calls_are_found(build_case):
    key_id, secret = fakes.access_key_id("bundle"), fakes.secret_access_key("bundle")
    tokens = fakes.provider_tokens("clients")
    bundle = "var a=function(){return 1};\n" * 440_000  # 12 MB, over the 10 MiB read window
    bundle += f'const config={{accessKeyId:"{key_id}",secretAccessKey:"{secret}"}};\n'
    clients = "\n".join(f'client_{i} = Client("{token}")' for i, token in enumerate(tokens.values()))
    audit = build_case(
        "first-party-leaks",
        files={
            "bundle.js": bundle,
            "clients.py": clients + "\n",
            "settings.py": f'DB_PASSWORD = "{fakes.password("layer")}9Zq"\n',
            "key.pem": fakes.private_key("layer"),
        },
    )
    report = audit.credentials()
    site = "/opt/python/lib/python3.11/site-packages/mypkg"
    expected = {
        ("aws-access-key-id", "/var/task/bundle.js"),
        ("aws-secret-access-key", "/var/task/bundle.js"),
        ("generic-secret", f"{site}/settings.py"),
        ("private-key", f"{site}/key.pem"),
    } | {("stripe-secret-key" if name == "stripe-restricted" else name, "/var/task/clients.py") for name in tokens}
    assert set(findings(report)) == expected, report.format()
    assert "read in windows" in report.checked
    assert_masked(report, key_id, *tokens.values())


def test_realistic_boto3_function_image_is_clean(lambda_audit, orders_image):
    """examples/orders-function: boto3 and botocore (their example keys and
    docs) installed next to the code."""
    lambda_audit(orders_image).assert_no_credentials()
