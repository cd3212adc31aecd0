"""What installing the plugin adds to a pytest run that uses no Lambda
fixture: a one-test session with the plugins and with every one off (`-p no:lambda_*`),
each in a fresh interpreter, and the plugin's own import time.

    python benchmarks/bench_import.py [--rounds N]

Prints figures; asserts nothing (shared machines are noisy).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed(command: list[str], cwd: str) -> float:
    t0 = time.perf_counter()
    subprocess.run(command, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - t0


def _plugins() -> dict[str, str]:
    from importlib.metadata import entry_points

    found = entry_points(group="pytest11") if sys.version_info >= (3, 10) else entry_points().get("pytest11", [])
    return {point.name: point.value for point in found if point.value.startswith("pytest_lambda_image.")}


PLUGINS = _plugins()
NO_PLUGINS = [arg for name in PLUGINS for arg in ("-p", f"no:{name}")]
PLUGIN_MODULES = sorted(PLUGINS.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "test_plain.py").write_text("def test_plain():\n    assert True\n")
        pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        runs = {
            "pytest run, plugin installed": pytest,
            "pytest run, every lambda_* plugin off": [*pytest, *NO_PLUGINS],
            "import pytest": [sys.executable, "-c", "import pytest"],
            "import the plugins": [sys.executable, "-c", "import " + ", ".join(PLUGIN_MODULES)],
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.rounds):  # interleaved so drift hits every row alike
            for name, command in runs.items():
                times[name].append(timed(command, tmp))
    for name, values in times.items():
        print(f"{name:40} {statistics.median(values) * 1000:8.1f} ms")
    added = statistics.median(times["pytest run, plugin installed"]) - statistics.median(
        times["pytest run, every lambda_* plugin off"]
    )
    print(f"{'added by the plugin (median difference)':40} {added * 1000:8.1f} ms   (goal: under 100 ms)")


if __name__ == "__main__":
    main()
