"""Credential rules on text: each format found, masked, fingerprinted, and
the usual placeholders and look-alikes left alone."""

from __future__ import annotations

import threading

import pytest

from pytest_lambda_image.audit.secrets import (
    MAX_MATCHES,
    context_for,
    file_rules_for,
    find_in_credential_file,
    find_secrets,
    fingerprint,
    is_placeholder,
    mask,
)
from tests import fakes


def rules(text: str, context: str = "config") -> list[str]:
    return [m.rule.id for m in find_secrets(text, context)]


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        (f"export AWS_ACCESS_KEY_ID={fakes.access_key_id()}", "aws-access-key-id"),
        (f"key: {fakes.access_key_id().replace('AKIA', 'ASIA')}", "aws-access-key-id"),
        (f"AWS_SECRET_ACCESS_KEY={fakes.secret_access_key()}", "aws-secret-access-key"),
        (f'aws_secret_access_key = "{fakes.secret_access_key()}"', "aws-secret-access-key"),
        (f"ENV AWS_SECRET_ACCESS_KEY {fakes.secret_access_key()}", "aws-secret-access-key"),
        (f"ARG AWS_SECRET_ACCESS_KEY={fakes.secret_access_key()}", "aws-secret-access-key"),
        (f'{{"SecretAccessKey": "{fakes.secret_access_key()}"}}', "aws-secret-access-key"),
        (f"|1 AWS_SECRET_ACCESS_KEY={fakes.secret_access_key()} /bin/sh -c make", "aws-secret-access-key"),
        (f"AWS_SESSION_TOKEN={fakes.session_token()}", "aws-session-token"),
        (f'"SessionToken": "{fakes.session_token()}"', "aws-session-token"),
        (f"GITHUB_TOKEN={fakes.github_token()}", "github-token"),
        (f"token {fakes.github_token().replace('ghp_', 'ghs_')} here", "github-token"),
        (f"auth={fakes.github_fine_grained()}", "github-fine-grained-token"),
        (fakes.private_key(), "private-key"),
        (f"git clone https://deploy:{fakes.password()}@git.example.org/repo.git", "url-password"),
        (f"DB_PASSWORD={fakes.password()}", "generic-secret"),
        (f"NPM_TOKEN={fakes.password()}", "generic-secret"),
        (f"client_secret: '{fakes.password()}'", "generic-secret"),
        (f"SLACK_API_KEY={fakes.password()}", "generic-secret"),
    ],
)
def test_each_rule_finds_its_format(text, rule):
    assert rules(text) == [rule]


@pytest.mark.parametrize(
    "text",
    [
        "AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE",  # AWS's documented example
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "GITHUB_TOKEN=${GITHUB_TOKEN}",
        "DB_PASSWORD=changeme",
        "API_TOKEN=<your-token-here>",
        "PASSWORD=xxxxxxxxxx",
        "DB_SECRET_ARN=arn:aws:secretsmanager:eu-west-1:123456789012:secret:db-AbCdEf",
        "TOKEN_URL=https://auth.internal/token",
        "SECRET_NAME=prod/db/credentials",
        "TOKENIZERS_PARALLELISM=false",
        "PASSWORD_FILE=/run/secrets/db",
        "password = get_password()",
        "-----BEGIN RSA PRIVATE KEY-----",  # a parser's constant, no key body
        "PIP_NO_CACHE_DIR=1",
        "https://user:pass@host",  # too short to be anything but a sample
    ],
)
def test_placeholders_and_lookalikes_are_not_findings(text):
    assert rules(text) == []


def test_code_needs_a_random_looking_value_for_a_generic_assignment():
    assert rules('PASSWORD = "hunter2hunter2"', "code") == []
    assert rules(f'API_TOKEN = "{fakes.password("code")}x9Q"', "code") == ["generic-secret"]


def test_vendored_trees_only_report_unambiguous_formats():
    text = f"DB_PASSWORD={fakes.password()}\nkey={fakes.access_key_id()}"
    assert rules(text, "vendored") == ["aws-access-key-id"]
    assert rules(fakes.private_key(), "vendored") == []  # OS libraries embed self-test keys
    assert rules(fakes.private_key(), "binary") == ["private-key"]


def test_a_specific_rule_claims_the_span_before_the_generic_one():
    assert rules(f"GITHUB_TOKEN={fakes.github_token()}") == ["github-token"]
    assert rules(f"AWS_SECRET_ACCESS_KEY={fakes.secret_access_key()}") == ["aws-secret-access-key"]


def test_masks_show_ends_only():
    key = fakes.access_key_id()
    assert mask(key) == f"{key[:4]}****{key[-4:]}"
    assert mask("abcdefghijkl") == "ab****"
    assert mask("short") == "****"
    match = find_secrets(f"GITHUB_TOKEN={fakes.github_token()}")[0]
    assert match.secret not in match.masked and len(match.masked) == 12


def test_fingerprints_are_stable_and_do_not_reveal_the_value():
    token = fakes.github_token()
    assert fingerprint(token) == fingerprint(token) != fingerprint(fakes.github_token("other"))
    assert token not in fingerprint(token) and len(fingerprint(token)) == 16


def test_private_key_fingerprint_ignores_line_breaks():
    key = fakes.private_key()
    assert find_secrets(key)[0].fingerprint == find_secrets(key.replace("\n", "\r\n"))[0].fingerprint


@pytest.mark.parametrize(
    ("path", "content", "rule"),
    [
        ("/root/.aws/credentials", f"[default]\naws_secret_access_key = {fakes.password()}\n", "aws-credentials-file"),
        ("/home/app/.npmrc", f"//registry.npmjs.org/:_authToken={fakes.password()}\n", "npmrc-auth"),
        ("/root/.pypirc", f"[pypi]\nusername = __token__\npassword = pypi-{fakes.password()}\n", "pypirc-password"),
        ("/root/.git-credentials", f"https://bot:{fakes.password()}@github.com\n", "git-credentials"),
        ("/root/.netrc", f"machine api.example.org login bot password {fakes.password()}\n", "netrc-password"),
        (
            "/root/.docker/config.json",
            '{"auths": {"r.example.org": {"auth": "Ym90OnMzY3JldHZhbHVl"}}}',
            "docker-config-auth",
        ),
        ("/root/.ssh/id_ed25519", "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ", "ssh-private-key-file"),
    ],
)
def test_credential_files(path, content, rule):
    (file_rule,) = file_rules_for(path)
    assert file_rule.id == rule
    assert [m.rule.id for m in find_in_credential_file(file_rule, content)] == [rule]


def test_credential_files_with_placeholders_are_fine():
    (npmrc,) = file_rules_for("/app/.npmrc")
    assert find_in_credential_file(npmrc, "//registry.npmjs.org/:_authToken=${NPM_TOKEN}\n") == []
    assert file_rules_for("/root/.ssh/id_rsa.pub") == []


def test_context_by_path():
    assert context_for("/var/task/.env") == "config"
    assert context_for("/var/task/.env.production") == "config"
    assert context_for("/var/task/deploy.sh") == "config"
    assert context_for("/var/task/settings.yaml") == "data"
    assert context_for("/var/task/app.py") == "code"
    assert context_for("/var/task/.env.example") == "code"
    assert context_for("/var/lang/lib/python3.12/site-packages/x/conf.ini") == "vendored"
    assert context_for("/var/runtime/botocore/data/x.json") == "vendored"
    assert context_for("/usr/share/doc/x/README") == "vendored"
    assert context_for("/var/task/botocore/data.json", vendored=True) == "vendored"
    # A layer's site-packages is third-party only where a RECORD says so (the caller's `vendored`).
    layer_file = "/opt/python/lib/python3.11/site-packages/mypkg/settings.py"
    assert context_for(layer_file) == "code"
    assert context_for(layer_file, vendored=True) == "vendored"
    assert context_for("/var/task/lib/site-packages/mine/.env") == "config"
    assert context_for("/opt/nodejs/node_modules/left-pad/index.js") == "vendored"


def test_structured_files_ignore_plain_words():
    assert rules('{"input_token": "nextToken", "token": "Bearer"}', "data") == []
    assert rules(f'{{"db_password": "{fakes.password()}"}}', "data") == ["generic-secret"]


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ('{"private_key": "' + fakes.private_key().replace("\n", "\\n") + '"}', "private-key"),
        (f"redis://:{fakes.password()}@cache:6379", "url-password"),
        (f"HTTPS://bot:{fakes.password()}@git.example.org", "url-password"),
        (f"aws-secret-access-key: {fakes.secret_access_key()}", "aws-secret-access-key"),
    ],
)
def test_less_common_spellings(text, rule):
    assert rules(text) == [rule]


def test_dev_defaults_in_urls_are_not_findings():
    assert rules("postgres://postgres:postgres@localhost:5432/app") == []
    assert rules(f"postgres://app:{fakes.password()}@localhost/app") == []


def test_a_secret_key_starting_with_a_slash_is_not_a_path():
    key = "/" + fakes.secret_access_key("slash")[1:]
    assert rules(f"aws_secret_access_key = {key}") == ["aws-secret-access-key"]


def test_matches_per_text_are_capped():
    text = "\n".join(fakes.access_key_id(str(i)) for i in range(500))
    assert len(find_secrets(text)) == MAX_MATCHES


def test_matches_never_show_the_secret_in_their_repr():
    match = find_secrets(f"GITHUB_TOKEN={fakes.github_token()}")[0]
    assert fakes.github_token() not in repr(match)


@pytest.mark.parametrize(
    "text",
    [
        "token_" * 400_000,
        "token " + "-a" * 1_000_000,
        "token=" + "a-b_c.d" * 300_000,
        "a." * 1_000_000 + "://",
        "-----BEGIN PRIVATE KEY-----\n" + "A" * 2_000_000,
        "-----BEGIN PRIVATE KEY-----" + "\\nA:" * 2000 + "!",
        "aws_secret_access_key" + " " * 200_000,
        "session_token" + "\t" * 200_000,
        "token: " * 300_000,
    ],
    ids=["names", "dashes", "base64url", "schemes", "pem", "pem-headers", "spaces", "tabs", "many-matches"],
)
def test_adversarial_input_does_not_hang(text):
    """A hang guard, not a speed goal: patterns with unbounded nested repeats
    took minutes on inputs like these; bounded ones take well under a second."""
    done = threading.Event()
    worker = threading.Thread(target=lambda: (find_secrets(text), find_secrets(text, "code"), done.set()), daemon=True)
    worker.start()
    worker.join(timeout=120)
    assert done.is_set()


@pytest.mark.parametrize("value", ["${X}", "<token>", "changeme", "arn:aws:ssm:x", "********", "/run/secrets/x"])
def test_placeholders(value):
    assert is_placeholder(value)


def test_real_looking_values_are_not_placeholders():
    assert not is_placeholder(fakes.password())


PROVIDER_CALLS = [
    'stripe.api_key = Stripe("{}")',
    "client = WebClient(token='{}')",
    'gl = gitlab.Gitlab("https://gitlab.example.org", private_token="{}")',
    "const key = '{}';",
    "requests.post(url, headers={{'Authorization': 'Bearer {}'}})",
    "{}",
]


@pytest.mark.parametrize("name", sorted(fakes.provider_tokens()))
@pytest.mark.parametrize("context", ["code", "data", "config", "vendored"])
def test_provider_tokens_are_found_wherever_they_appear(name, context):
    token = fakes.provider_tokens()[name]
    expected = "stripe-secret-key" if name == "stripe-restricted" else name
    for template in PROVIDER_CALLS:
        found = find_secrets(template.format(token), context)
        assert [(m.rule.id, m.secret) for m in found] == [(expected, token)], template


@pytest.mark.parametrize(
    "text",
    [
        "sk_" + "live_" + "x" * 24,  # documentation placeholders
        "sk_" + "live_" + "1234567890" * 3,
        "xox" + "b-" + "0" * 30,
        "AI" + "za" + "X" * 35,
        "npm" + "_" + "a" * 36,
        "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        "SK" + "0" * 32,
        "sk_test_" + "abcDEF123" * 3,  # a test-mode key is not a live one
        "pypi-" + "AgEIcHlwaS5vcmc" + "A" * 60,
    ],
)
def test_provider_lookalikes_are_not_findings(text):
    assert rules(text, "code") == []


@pytest.mark.parametrize("name", ["gitlab-token", "twilio-api-key"])
def test_a_provider_token_glued_to_a_longer_word_is_not_one(name):
    token = fakes.provider_tokens("glued")[name]
    assert rules("x" + token, "code") == []
    assert rules("=" + token, "code") == [name]


def _break_checksum(token: str) -> str:
    """The same token with its last checksum digit changed."""
    return token[:-1] + ("0" if token[-1] != "0" else "1")


@pytest.mark.parametrize(
    ("make", "rule"),
    [
        (fakes.github_token, "github-token"),
        (lambda seed: fakes.provider_tokens(seed)["npm-token"], "npm-token"),
    ],
    ids=["github", "npm"],
)
def test_tokens_whose_checksum_fails_are_not_findings(make, rule):
    """GitHub and npm tokens end with a base62 CRC32 of their random part: one
    that does not add up was never issued (a typo, a sample, chance)."""
    for seed in ("c1", "c2", "c3"):
        token = make(seed)
        assert rules(f"const t = '{token}';", "code") == [rule]
        assert rules(f"const t = '{_break_checksum(token)}';", "code") == []
        swapped = token[:4] + token[5] + token[4] + token[6:]  # two body characters transposed
        assert swapped == token or rules(f"t = '{swapped}'", "code") == []


def test_the_checksum_covers_the_random_part_not_the_prefix():
    token = fakes.github_token("prefix")
    for prefix in ("gho_", "ghu_", "ghs_", "ghr_"):
        assert rules(prefix + token[4:], "code") == ["github-token"]


def test_longer_github_app_tokens_carry_no_checksum_and_are_judged_by_format():
    token = "gh" + "s_" + fakes.password("app") * 4  # 56 characters: no documented checksum
    assert rules(f"X-Token: {token}", "code") == ["github-token"]


def test_base62_crc32_matches_an_independent_computation():
    from pytest_lambda_image.audit.secrets import base62_crc32

    body = (fakes.password("crc") + fakes.password("crc2") + fakes.password("crc3"))[:30]
    assert fakes.with_checksum("", body)[30:] == base62_crc32(body)
    assert base62_crc32("") == "000000"  # zero-padded to six digits


def _long_text_with_everything(seed: str) -> str:
    """~200 KB of code-like filler (dotted names, snake_case, paths) with one
    of every kind of secret spread through it."""
    filler = "result = self.session_client.get_object(Bucket=bucket_name, Key=object_key)  # os.path.join\n"
    secrets = [
        *fakes.provider_tokens(seed).values(),
        f"aws_secret_access_key = {fakes.secret_access_key(seed)}",
        f"key_id = '{fakes.access_key_id(seed)}'",
        f"GITHUB_TOKEN={fakes.github_token(seed)}",
        f"DB_PASSWORD = '{fakes.password(seed)}9Zq'",
        f"https://bot:{fakes.password(seed + 'u')}@git.example.org/x",
        "glpat-" + fakes.password(seed + "gl") + "abcdefgh" + ".01.xyz123abc",
        fakes.private_key(seed),
    ]
    parts = []
    for i, secret in enumerate(secrets):
        parts.append(filler * (40 + i * 7))
        parts.append(f"value_{i} = {secret}\n")
    return "".join(parts) + filler * 30


@pytest.mark.parametrize("context", ["code", "config", "data", "vendored", "binary"])
def test_long_texts_find_what_a_whole_text_search_finds(context, monkeypatch):
    """Long texts are searched only around runs of token characters and around
    hints: the same matches as searching every rule over the whole text."""
    import pytest_lambda_image.audit.secrets as secrets

    text = _long_text_with_everything("long")
    binary = "\0" * 100 + text.replace("\n", "\0\x7f")  # as a compiled file holds strings
    for sample in (text, binary):
        fast = [(m.rule.id, m.secret, m.start) for m in find_secrets(sample, context)]
        from_bytes = [(m.rule.id, m.secret, m.start) for m in find_secrets(sample.encode("latin-1"), context)]
        monkeypatch.setattr(secrets, "_WHOLE_BELOW", 10**9)
        whole = [(m.rule.id, m.secret, m.start) for m in find_secrets(sample, context)]
        monkeypatch.undo()
        assert fast == whole == from_bytes
        assert whole  # every context reports something here
