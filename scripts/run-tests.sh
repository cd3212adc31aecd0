#!/usr/bin/env bash
# README command #2: the project's own tests (unit, plugin and integration,
# on a real Docker engine), plus ruff, mypy, import-linter, and the unit and
# plugin tests on every other supported Python (3.9-3.13, with the oldest and
# newest testcontainers).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/setup.sh"
cd "$here"
export TESTCONTAINERS_RYUK_DISABLED=true
.venv/bin/python -m ruff check pytest_lambda_image tests benchmarks examples
.venv/bin/python -m mypy   # the package ships py.typed: its types must hold (config in pyproject.toml)
.venv/bin/python -m sphinx -W --keep-going -q -b html docs docs/_build/html   # the docs (docs/conf.py)
.venv/bin/lint-imports --no-cache --no-logo   # the package's layering (contracts in pyproject.toml)
"$here/scripts/tests-other-pythons.sh"
exec .venv/bin/python -m pytest -n 2 "$@"
