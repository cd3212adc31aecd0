"""The README's test examples run, as written, against the example function
they name (`# against examples/<name>` on a block's first line; default
examples/python-function)."""

from __future__ import annotations

import re
import shutil
import uuid
from collections import defaultdict
from pathlib import Path

import pytest

from ..conftest import BASE_IMAGE, remove_repository

ROOT = Path(__file__).resolve().parents[2]
_AGAINST = re.compile(r"^# against examples/([\w-]+)")


def readme_test_blocks() -> dict[str, list[str]]:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    by_example: dict[str, list[str]] = defaultdict(list)
    for block in blocks:
        if "def test_" in block:
            match = _AGAINST.match(block)
            by_example[match[1] if match else "python-function"].append(block)
    return by_example


@pytest.mark.parametrize("example", sorted(readme_test_blocks()))
def test_readme_examples_pass(example, pytester, lambda_engine, base_image):
    blocks = readme_test_blocks()[example]
    # A unique directory name: the images it builds are this test's, and are removed after it.
    project = pytester.path / f"readme-{uuid.uuid4().hex[:8]}"
    shutil.copytree(ROOT / "examples" / example, project, ignore=shutil.ignore_patterns("tests", "__pycache__"))
    for number, block in enumerate(blocks):
        (project / f"test_readme_{number}.py").write_text(block)
    try:
        result = pytester.runpytest_subprocess(
            str(project),
            "--rootdir",
            str(project),
            "-c",
            str(project / "pyproject.toml"),
            "-p",
            "no:cacheprovider",
            f"--lambda-build-arg=BASE_IMAGE={BASE_IMAGE}",
            timeout=300,
        )
        result.assert_outcomes(passed=sum(block.count("def test_") for block in blocks))
    finally:
        remove_repository(lambda_engine, f"pytest-lambda-image/{project.name}")
