"""What installing the plugin adds to a pytest run that uses no Lambda
fixture: a one-test session with the plugin and with `-p no:lambda_image`,
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "test_plain.py").write_text("def test_plain():\n    assert True\n")
        pytest = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"]
        runs = {
            "pytest run, plugin installed": pytest,
            "pytest run, -p no:lambda_image": [*pytest, "-p", "no:lambda_image"],
            "import pytest": [sys.executable, "-c", "import pytest"],
            "import the plugin": [sys.executable, "-c", "import pytest_lambda_image._plugin.core"],
        }
        times: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.rounds):  # interleaved so drift hits every row alike
            for name, command in runs.items():
                times[name].append(timed(command, tmp))
    for name, values in times.items():
        print(f"{name:40} {statistics.median(values) * 1000:8.1f} ms")
    added = statistics.median(times["pytest run, plugin installed"]) - statistics.median(
        times["pytest run, -p no:lambda_image"]
    )
    print(f"{'added by the plugin (median difference)':40} {added * 1000:8.1f} ms   (goal: under 100 ms)")


if __name__ == "__main__":
    main()
