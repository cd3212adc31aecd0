"""The documented test examples run, as written, against the example function
they name (`# against examples/<name>` on a block's first line; default
examples/python-function): the README's ```python blocks and the
`.. code-block:: python` blocks of docs/*.rst that define a test. A block
shown in two places (the README's example is also the docs' front page) runs
once."""

from __future__ import annotations

import re
import shutil
import textwrap
import uuid
from collections import defaultdict
from pathlib import Path

import pytest

from ..conftest import BASE_IMAGE, remove_repository

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
_AGAINST = re.compile(r"^# against examples/([\w-]+)")
_RST_BLOCK = re.compile(r"^(?P<indent>[ \t]*)\.\. code-block:: python[ \t]*$")


def markdown_python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def rst_python_blocks(text: str) -> list[str]:
    """The bodies of `.. code-block:: python` directives (after their
    options, dedented)."""
    lines = text.splitlines()
    blocks = []
    for number, line in enumerate(lines):
        match = _RST_BLOCK.match(line)
        if not match:
            continue
        outer = len(match["indent"].expandtabs())
        body: list[str] = []
        options = True
        for following in lines[number + 1 :]:
            if following.strip() and len(following) - len(following.lstrip()) <= outer:
                break
            if options and following.strip().startswith(":"):
                continue  # a directive option (:caption:, :emphasize-lines:, ...)
            options = False
            body.append(following)
        blocks.append(textwrap.dedent("\n".join(body)).strip("\n") + "\n")
    return blocks


def documentation() -> dict[str, str]:
    """README.md and every docs page (not the built ones), by path."""
    pages = {"README.md": (ROOT / "README.md").read_text()}
    for page in sorted(DOCS.rglob("*.rst")):
        if "_build" not in page.relative_to(DOCS).parts:
            pages[str(page.relative_to(ROOT))] = page.read_text()
    return pages


def readme_test_blocks() -> dict[str, list[str]]:
    by_example: dict[str, list[str]] = defaultdict(list)
    for path, text in documentation().items():
        blocks = markdown_python_blocks(text) if path.endswith(".md") else rst_python_blocks(text)
        for block in blocks:
            if "def test_" not in block:
                continue
            match = _AGAINST.match(block)
            example = by_example[match[1] if match else "python-function"]
            if block not in example:
                example.append(block)
    return by_example


def test_every_documented_test_is_collected():
    """A test example in a block the collector does not read (``` py, `.. code::`)
    would silently never run."""
    written = sum(len(re.findall(r"^\s*def test_", text, flags=re.M)) for text in documentation().values())
    collected = 0
    for path, text in documentation().items():
        blocks = markdown_python_blocks(text) if path.endswith(".md") else rst_python_blocks(text)
        collected += sum(len(re.findall(r"^\s*def test_", block, flags=re.M)) for block in blocks)
    assert collected == written
    assert readme_test_blocks(), "no documented test example found"


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
