#!/usr/bin/env bash
# The unit tests on the oldest and newest Pythons the package supports
# (requires-python >= 3.9), each in its own venv, kept between runs. A Python
# that is not installed is reported and skipped: the main suite runs anyway.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
for version in 3.9 3.13; do
  # pyenv's own directories first: its shims answer for versions that are not selected
  python=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/python 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$python" ] || python=$(command -v "python$version" || true)
  if [ -z "$python" ] || ! "$python" --version >/dev/null 2>&1; then
    echo "unit-tests-other-pythons: no Python $version here; skipped" >&2
    continue
  fi
  venv=".venv-py$version"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e .  # pytest comes with it
  echo "== unit tests on $("$venv/bin/python" --version)" >&2
  "$venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit
done
