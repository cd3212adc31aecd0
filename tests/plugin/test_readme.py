"""The README's test examples run, as written, against examples/python-function."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from ..conftest import BASE_IMAGE, remove_repository

ROOT = Path(__file__).resolve().parents[2]


def readme_test_blocks() -> list[str]:
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), flags=re.S)
    return [block for block in blocks if "def test_" in block]


def test_readme_examples_pass(pytester, lambda_engine, base_image):
    blocks = readme_test_blocks()
    assert len(blocks) >= 3
    shutil.copytree(
        ROOT / "examples" / "python-function", pytester.path / "readme-fn", ignore=shutil.ignore_patterns("tests")
    )
    pytester.makeini(
        f"[pytest]\nlambda_dockerfile = readme-fn/Dockerfile\nlambda_build_args = BASE_IMAGE={BASE_IMAGE}\n"
    )
    for number, block in enumerate(blocks):
        pytester.makepyfile(**{f"test_readme_{number}": block})
    try:
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", timeout=300)
        tests = sum(block.count("def test_") for block in blocks)
        result.assert_outcomes(passed=tests)
    finally:
        remove_repository(lambda_engine, "pytest-lambda-image/readme-fn")
