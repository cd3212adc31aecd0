#!/usr/bin/env bash
# README command #2: the project's own tests (unit, plugin and integration,
# on a real Docker engine), plus ruff, mypy, and the unit tests on the oldest
# and newest supported Pythons.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/setup.sh"
cd "$here"
export TESTCONTAINERS_RYUK_DISABLED=true
.venv/bin/python -m ruff check pytest_lambda_image tests benchmarks examples
.venv/bin/python -m mypy   # the package ships py.typed: its types must hold (config in pyproject.toml)
"$here/scripts/unit-tests-other-pythons.sh"
exec .venv/bin/python -m pytest -n 2 "$@"
