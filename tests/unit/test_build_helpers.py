import os
import stat
import time

import pytest

from pytest_lambda_image import BuildSpec, ConfigError
from pytest_lambda_image.build import buildkit
from pytest_lambda_image.build.inputs import buildkit_features, find_test_files
from pytest_lambda_image.build.progress import BuildProgress
from pytest_lambda_image.build.spec import parse_secret, parse_ssh


@pytest.mark.parametrize(
    ("dockerfile", "features"),
    [
        ("FROM x\nRUN pip install -r r.txt\nCOPY . /var/task\n", []),
        ("# syntax=docker/dockerfile:1\nFROM x\n", ["a # syntax= frontend line"]),
        ("FROM x\nRUN --mount=type=cache,target=/root/.cache pip install .\n", ["RUN --mount"]),
        ("FROM x\nCOPY --chmod=0755 bootstrap /var/runtime/\n", ["COPY --chmod"]),
        ("FROM x\nRUN <<EOF\necho hi\nEOF\n", ["a heredoc"]),
        ("FROM x\n# RUN --mount in a comment is not a step\n", []),
    ],
)
def test_buildkit_features(dockerfile, features):
    assert buildkit_features(dockerfile) == features


def test_test_files_in_a_context():
    files = ["app.py", "tests/test_app.py", "tests/conftest.py", "lib/app_test.py", "testing.py", "pytest.ini"]
    assert find_test_files(files) == ["tests/test_app.py", "tests/conftest.py", "lib/app_test.py", "pytest.ini"]


def test_secrets(tmp_path, monkeypatch):
    monkeypatch.setenv("TOKEN", "x")
    (tmp_path / "npmrc").write_text("x")
    assert parse_secret("id=TOKEN") == {"id": "TOKEN", "env": "TOKEN"}
    assert parse_secret(f"id=npm,src={tmp_path / 'npmrc'}") == {"id": "npm", "src": str(tmp_path / "npmrc")}
    assert parse_secret(f"type=file,id=npm,source={tmp_path / 'npmrc'}")["src"] == str(tmp_path / "npmrc")
    for bad in ("npm", "id=npm,src=a,env=B", "id=,env=TOKEN", "id=x,color=red"):
        with pytest.raises(ConfigError, match="id=NAME,src=FILE or id=NAME,env=VAR"):
            parse_secret(bad)


def test_ssh(monkeypatch, tmp_path):
    monkeypatch.delenv("SSH_AUTH_SOCK", raising=False)
    with pytest.raises(ConfigError, match="SSH_AUTH_SOCK is not set"):
        parse_ssh("default")
    monkeypatch.setenv("SSH_AUTH_SOCK", "/tmp/agent.sock")
    assert parse_ssh("default") == "default"
    with pytest.raises(ConfigError, match="does not exist"):
        parse_ssh(f"deploy={tmp_path / 'missing_key'}")


def test_build_settings_are_checked():
    with pytest.raises(ConfigError, match="use one of auto, buildkit, legacy"):
        BuildSpec(".", builder="kaniko")
    with pytest.raises(ConfigError, match="1 or more"):
        BuildSpec(".", keep=0)
    assert BuildSpec(".", builder="BuildKit", keep="5").keep == 5


def test_progress_is_quiet_for_a_quick_build_then_shows_every_line(monkeypatch):
    now = [0.0]
    monkeypatch.setattr("pytest_lambda_image.build.progress.time.monotonic", lambda: now[0])
    shown: list[str] = []
    progress = BuildProgress(shown.append, "Dockerfile", quiet_for=3)
    progress("#1 [1/3] FROM base")
    assert shown == []
    now[0] = 5
    progress("#2 [2/3] RUN pip install")
    progress("#3 [3/3] COPY app.py")
    assert shown == [
        "lambda image: building Dockerfile ...",
        "  #1 [1/3] FROM base",
        "  #2 [2/3] RUN pip install",
        "  #3 [3/3] COPY app.py",
    ]


def fake_cli(tmp_path, name: str, version: str, buildx: bool) -> str:
    path = tmp_path / name
    path.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = buildx ]; then exit {0 if buildx else 1}; fi\n'
        f'if [ "$1" = --version ]; then echo "Docker version {version}, build abc"; fi\n'
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


@pytest.mark.parametrize(
    ("version", "buildx", "found"),
    [
        ("28.2.2", True, "buildkit (docker buildx)"),
        ("20.10.24", False, "buildkit (DOCKER_BUILDKIT=1)"),
        ("28.2.2", False, None),  # Docker 23+ dropped the built-in BuildKit client: buildx or nothing
    ],
)
def test_finding_a_buildkit_cli(tmp_path, monkeypatch, version, buildx, found):
    monkeypatch.setattr(buildkit, "_found", {})
    cli = buildkit.find_buildkit_cli(fake_cli(tmp_path, f"docker-{version}", version, buildx))
    assert (cli.name if cli else None) == found
    assert buildkit.find_buildkit_cli(os.fspath(tmp_path / "nowhere")) is None


def test_secrets_are_kept_as_docker_takes_them(monkeypatch):
    monkeypatch.setenv("INDEX_TOKEN", "x")
    assert BuildSpec(".", secrets=("env=INDEX_TOKEN,id=token", "id=INDEX_TOKEN")).secrets == (
        "id=token,env=INDEX_TOKEN",
        "id=INDEX_TOKEN,env=INDEX_TOKEN",
    )


def test_build_locks_are_a_bounded_reused_set(tmp_path, monkeypatch):
    from pytest_lambda_image.build import LOCK_SLOTS, build_lock_path

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    paths = {build_lock_path(f"{n:064x}"[::-1]) for n in range(5000)}
    assert len(paths) == LOCK_SLOTS
    assert {path.parent for path in paths} == {tmp_path / "pytest-lambda-image" / "locks"}


def test_the_legacy_builder_gets_a_stand_in_for_scratch_of_the_platform(tmp_path, monkeypatch):
    from pytest_lambda_image.build import legacy

    monkeypatch.setattr(legacy, "scratch_stand_in", lambda engine, platform: f"stand-in:{platform}")
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text(
        "# escape=`\nARG X=1\nFROM --platform=linux/amd64 `\n  scratch AS a\n"
        "ARG Y\nCOPY a /a\nFROM base\nFROM scratch\n"
    )
    spec = BuildSpec(tmp_path, platform="linux/arm64")
    (tmp_path / "out").mkdir()
    rewritten = legacy.with_scratch_stand_ins(None, spec, dockerfile, tmp_path / "out")
    assert rewritten is not None
    assert rewritten.read_text().splitlines() == [
        "# escape=`",
        "ARG X=1",
        "FROM --platform=linux/amd64 stand-in:linux/amd64 AS a",
        "",  # the lines after keep their numbers
        "ARG Y",
        "COPY a /a",
        "FROM base",
        "FROM stand-in:linux/arm64",
    ]
    # No platform asked for: the engine's own, which its commits have too.
    dockerfile.write_text("FROM scratch\nARG Y\nCOPY a /a\n")
    assert legacy.with_scratch_stand_ins(None, BuildSpec(tmp_path), dockerfile, tmp_path / "out") is None


def test_lock_files_earlier_versions_left_are_removed_once_an_hour_old(tmp_path, monkeypatch):
    import pytest_lambda_image.build as build

    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setattr(build, "_old_locks_removed", False)
    old, recent = (tmp_path / f"pytest-lambda-image-build-{n:016x}.lock" for n in (1, 2))
    old.write_text("")
    recent.write_text("")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    build.build_lock_path("ab" * 32)
    assert (old.exists(), recent.exists()) == (False, True)
