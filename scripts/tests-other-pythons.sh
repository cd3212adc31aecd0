#!/usr/bin/env bash
# The unit tests on every other Python the package supports, and the plugin
# tests on the oldest and newest (requires-python >= 3.9; the main run, on the
# machine's python3, has everything), each in its own venv, kept between runs. The
# oldest Python also gets the oldest testcontainers pyproject.toml admits, the
# others the newest. A Python that is not installed is reported and skipped.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
main=$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')
oldest_testcontainers=$(sed -n 's/.*"testcontainers>=\([0-9.]*\)".*/\1/p' pyproject.toml)
for version in 3.9 3.10 3.11 3.12 3.13; do
  [ "$version" = "$main" ] && continue
  # pyenv's own directories first: its shims answer for versions that are not selected
  python=$(ls -d "${PYENV_ROOT:-$HOME/.pyenv}"/versions/"$version".*/bin/python 2>/dev/null | sort -V | tail -n 1 || true)
  [ -n "$python" ] || python=$(command -v "python$version" || true)
  if [ -z "$python" ] || ! "$python" --version >/dev/null 2>&1; then
    echo "tests-other-pythons: no Python $version here; skipped" >&2
    continue
  fi
  venv=".venv-py$version"
  [ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test]'
  if [ "$version" = 3.9 ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check "testcontainers==$oldest_testcontainers"
  else
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade testcontainers
  fi
  tc=$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("testcontainers"))')
  # The ends of the range run the plugin tests too (real sessions, real images);
  # the versions between them, the unit tests (CI's time budget).
  case "$version" in
    3.9 | 3.13) suites=(tests/unit tests/plugin) ;;
    *) suites=(tests/unit) ;;
  esac
  echo "== ${suites[*]} on $("$venv/bin/python" --version), testcontainers $tc" >&2
  "$venv/bin/python" -m pytest -q -p no:cacheprovider -n 2 "${suites[@]}"
done
