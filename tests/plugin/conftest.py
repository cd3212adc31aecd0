"""Helpers for running the plugin the way users meet it: pytester in a
subprocess, in a fresh directory with its own ini file and Dockerfile."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from ..conftest import BASE_IMAGE, IMAGES, remove_repository

# Written by every inner session, so the outer test can look for its containers.
SESSION_RECORDER = """
import os
import pytest_lambda_image._runtime.cleanup as cleanup

def pytest_configure(config):
    with open(os.path.join(str(config.rootpath), "sessions.txt"), "a") as f:
        f.write(cleanup.SESSION_ID + "\\n")
"""


class Project:
    def __init__(self, pytester: pytest.Pytester, engine, function_dir: Path) -> None:
        self.pytester = pytester
        self.engine = engine
        self.function_dir = function_dir  # unique name: images built from it are this test's
        pytester.makeconftest(SESSION_RECORDER)

    def ini(self, extra: str = "", dockerfile: bool = True) -> None:
        lines = ["[pytest]"]
        if dockerfile:
            lines += [
                f"lambda_dockerfile = {self.function_dir.name}/Dockerfile",
                f"lambda_build_args = BASE_IMAGE={BASE_IMAGE}",
            ]
        self.pytester.makeini("\n".join(lines) + "\n" + textwrap.dedent(extra))

    def tests(self, source: str, name: str = "test_function") -> None:
        self.pytester.makepyfile(**{name: textwrap.dedent(source)})

    def run(self, *args: str, timeout: float = 300) -> pytest.RunResult:
        return self.pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=timeout)

    @property
    def ready_file(self) -> Path:
        """Where an inner test says it has got where the outer test waits for (`start_until_ready`)."""
        return self.pytester.path / "ready"

    def start_until_ready(self, timeout: float = 120) -> subprocess.Popen[bytes]:
        """Run the inner session in the background until one of its tests
        creates `ready_file`; the caller then interrupts or kills it."""
        process = self.pytester.popen(
            [*self.pytester._getpytestargs(), "-p", "no:cacheprovider"],
            stdout=open(self.pytester.path / "out.txt", "w"),
            stderr=open(self.pytester.path / "err.txt", "w"),
        )
        deadline = time.monotonic() + timeout
        while not self.ready_file.exists():
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                pytest.fail(f"the inner session never got ready:\n{(self.pytester.path / 'out.txt').read_text()}")
            time.sleep(0.05)
        return process

    def sessions(self) -> list[str]:
        path = self.pytester.path / "sessions.txt"
        return path.read_text().split() if path.exists() else []

    def leftovers(self) -> list[str]:
        """Containers, and volumes (a function's /tmp), of any session this project ran that still exist."""
        found = []
        for session in self.sessions():
            label = {"label": f"pytest-lambda-image.session={session}"}
            found += [c["Id"][:12] for c in self.engine.client.api.containers(all=True, filters=label)]
            found += [v["Name"][:12] for v in self.engine.client.api.volumes(filters=label).get("Volumes") or []]
        return found


@pytest.fixture
def project(pytester, lambda_engine, python_image, monkeypatch) -> Iterator[Project]:
    # Inner sessions must not depend on Ryuk (it cannot be pulled here): leave
    # TESTCONTAINERS_RYUK_DISABLED unset to prove the plugin never asks for it.
    monkeypatch.delenv("TESTCONTAINERS_RYUK_DISABLED", raising=False)
    function_dir = pytester.path / f"fn-{uuid.uuid4().hex[:8]}"
    shutil.copytree(IMAGES / "python-fn", function_dir)
    yield Project(pytester, lambda_engine, function_dir)
    remove_repository(lambda_engine, f"pytest-lambda-image/{function_dir.name}")
