#!/usr/bin/env bash
# README command #2: the project's own tests (unit, plugin and integration,
# on a real Docker engine), plus ruff.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
"$here/scripts/setup.sh"
cd "$here"
export TESTCONTAINERS_RYUK_DISABLED=true
.venv/bin/python -m ruff check pytest_lambda_image tests benchmarks examples
exec .venv/bin/python -m pytest -n 2 "$@"
