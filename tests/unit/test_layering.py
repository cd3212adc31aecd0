"""The package's layering (import-linter's contracts in pyproject.toml, run by
scripts/run-tests.sh) fails when it is broken: lint-imports runs on a copy of
the package and its config, the copy first on PYTHONPATH, once as it is and
once with one forbidden import added."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter", reason="import-linter is in the lint extra (main Python only)")

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = "pytest_lambda_image"
LINT_IMPORTS = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
_STATUS = re.compile(r"^(?P<name>\S.*?) (?P<status>KEPT|BROKEN)\b", re.MULTILINE)
_ANALYZED = re.compile(r"^Analyzed \d+ files, \d+ dependencies\.$", re.MULTILINE)


def lint_imports(tree: Path) -> tuple[int, str]:
    """lint-imports on `tree` (a folder holding pyproject.toml and the package), run from there."""
    if LINT_IMPORTS is None:
        pytest.skip("import-linter is installed but its lint-imports command is not on this Python's path")
    env = dict(os.environ, COLUMNS="500", NO_COLOR="1", TERM="dumb")  # one line per contract
    env["PYTHONPATH"] = os.pathsep.join([str(tree), *filter(None, [os.environ.get("PYTHONPATH")])])
    done = subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo", str(tree / "pyproject.toml")],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.returncode, done.stdout + done.stderr


def statuses(output: str) -> dict[str, str]:
    return {match["name"]: match["status"] for match in _STATUS.finditer(output)}


def contract_name(contract_id: str) -> str:
    """The name pyproject.toml gives the contract with this id (the name lint-imports reports)."""
    import tomllib  # Python 3.11+, as import-linter itself

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    names = {contract.get("id"): contract["name"] for contract in config["tool"]["importlinter"]["contracts"]}
    assert contract_id in names, f"no contract {contract_id!r} in pyproject.toml: {sorted(map(str, names))}"
    return names[contract_id]


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    shutil.copytree(ROOT / PACKAGE, tmp_path / PACKAGE, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy2(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


@pytest.fixture(scope="module")
def real_tree() -> tuple[int, str]:
    return lint_imports(ROOT)


def test_an_unmodified_copy_is_judged_as_the_real_tree(copy, real_tree):
    real_code, real_output = real_tree
    code, output = lint_imports(copy)
    assert statuses(real_output), real_output  # it ran and checked the contracts
    assert (code, statuses(output)) == (real_code, statuses(real_output)), output
    assert _ANALYZED.findall(output) == _ANALYZED.findall(real_output), output  # the whole package was copied


@pytest.mark.parametrize(
    ("module", "added", "contract_id", "chain"),
    [
        # the runtime imports a capability
        (
            "_runtime/cleanup.py",
            "from .. import gateway",
            "layers",
            f"{PACKAGE}._runtime.cleanup -> {PACKAGE}.gateway",
        ),
        # the pure event builders import pytest
        ("events/__init__.py", "import pytest", "no-pytest", f"{PACKAGE}.events -> pytest"),
    ],
    ids=["runtime-imports-a-capability", "events-import-pytest"],
)
def test_a_forbidden_import_breaks_its_contract_and_fails(copy, module, added, contract_id, chain):
    path = copy / PACKAGE / module
    path.write_text(path.read_text() + f"\n{added}  # noqa: E402, F401\n")
    code, output = lint_imports(copy)
    assert code != 0, output
    assert statuses(output).get(contract_name(contract_id)) == "BROKEN", output
    assert chain in output, output
