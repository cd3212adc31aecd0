"""What Lambda's CPU share (cpu_scaling, now on by default) costs.

    python benchmarks/bench_cpu_scaling.py [--rounds N] [--base-image TAG]

1. bench_suite.py's realistic suite (6 fresh containers, 6 warm tests, 3
   through the gateway, 3 invokes each, 128 MB) as a real pytest session with
   `lambda_cpu_scaling = false` (the old default) and `true` (the new one).
2. One function at 128 MB, three ways: no quota (the old default), the quota
   for the whole container life (how cpu_scaling=True worked before: init
   throttled too), and the new default (init at the engine's CPU, as Lambda's
   init burst, the invokes at 128/1769 of a vCPU): start, cold invoke, warm
   invoke, and an invoke that needs 0.1 s of CPU.

Rounds are interleaved so drift hits every side alike; medians are printed.
Asserts nothing (shared machines are noisy).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from bench_suite import FRESH, FRESH_TESTS, GATEWAY, HANDLER, INVOKES, SUITE, TIMER, WARM, plugin_run

from pytest_lambda_image import BuildSpec, DockerEngine, LambdaFunction, LambdaImage, build_image
from pytest_lambda_image._runtime.sandbox import cpu_quota

BURN = """
import time

def burn(event, context):
    end = time.process_time() + float(event["cpu_s"])
    while time.process_time() < end:
        pass
    return "burnt"
"""
MEMORY_MB = 128


def suite_project(root: Path, scaling: bool) -> Path:
    project = root / f"project-{'on' if scaling else 'off'}"
    project.mkdir()
    (project / "test_suite.py").write_text(SUITE + FRESH_TESTS)
    (project / "conftest.py").write_text(TIMER)
    (project / "pytest.ini").write_text(f"[pytest]\nlambda_timeout = 10\nlambda_cpu_scaling = {str(scaling).lower()}\n")
    return project


def one_function(engine: DockerEngine, image: LambdaImage, way: str) -> dict[str, float]:
    """Seconds for start, cold invoke, warm invoke and a 0.1 CPU-s invoke."""
    function = LambdaFunction(image, engine=engine, memory_size=MEMORY_MB, timeout=30, cpu_scaling=way == "new")
    if way == "throttled throughout":  # what cpu_scaling=True did before: a quota from create on
        function.with_kwargs(nano_cpus=cpu_quota(MEMORY_MB, engine.client.info()["NCPU"]))
    figures: dict[str, float] = {}

    def timed(name: str, call: Callable[[], object]) -> None:
        t0 = time.perf_counter()
        call()
        figures[name] = time.perf_counter() - t0

    timed("start", function.start)
    try:
        timed("cold invoke", lambda: function.invoke({"cpu_s": 0}).raise_for_error())
        timed("warm invoke", lambda: function.invoke({"cpu_s": 0}).raise_for_error())
        timed("0.1 CPU-s invoke", lambda: function.invoke({"cpu_s": 0.1}).raise_for_error())
    finally:
        function.stop()
    return figures


def build(engine: DockerEngine, root: Path, name: str, code: str, handler: str, base: str) -> LambdaImage:
    context = root / name
    context.mkdir()
    (context / "app.py").write_text(code)
    (context / "Dockerfile").write_text(
        f'ARG BASE_IMAGE\nFROM ${{BASE_IMAGE}}\nCOPY app.py ${{LAMBDA_TASK_ROOT}}/\nCMD ["app.{handler}"]\n'
    )
    return build_image(engine, BuildSpec(context, build_args={"BASE_IMAGE": base}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--base-image", default="pytest-lambda-image/python-base:3.11")
    args = parser.parse_args()
    engine = DockerEngine.connect()
    ways = ("no quota", "throttled throughout", "new")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        image = build(engine, root, "bench-suite-fn", HANDLER, "handler", args.base_image)
        burner = build(engine, root, "bench-burn-fn", BURN, "burn", args.base_image)
        projects = {scaling: suite_project(root, scaling) for scaling in (False, True)}
        print(
            f"engine: {engine.client.info()['NCPU']} CPUs; suite: {FRESH} fresh, {WARM} warm, {GATEWAY} gateway tests, "
            f"{INVOKES} invokes each, {MEMORY_MB} MB"
        )
        for project in projects.values():
            plugin_run(project, image.ref)  # untimed: page cache, image inspection
        one_function(engine, burner, "new")
        suites: dict[bool, list[float]] = {False: [], True: []}
        single: dict[str, list[dict[str, float]]] = {way: [] for way in ways}
        for _ in range(args.rounds):
            for scaling, project in projects.items():
                suites[scaling].append(plugin_run(project, image.ref)[0])
            for way in ways:
                single[way].append(one_function(engine, burner, way))
    off, on = statistics.median(suites[False]), statistics.median(suites[True])
    print(f"\nthe suite, pytest session ({args.rounds} rounds, median)")
    print(f"  {'lambda_cpu_scaling = false (old default)':44} {off:7.2f} s")
    print(f"  {'lambda_cpu_scaling = true (new default)':44} {on:7.2f} s   {on / off - 1:+.0%}")
    print(f"\none function at {MEMORY_MB} MB, seconds (median)")
    print(f"  {'':20}" + "".join(f"{way:>22}" for way in ways))
    for figure in single["new"][0]:
        row = [statistics.median(r[figure] for r in single[way]) for way in ways]
        print(f"  {figure:20}" + "".join(f"{value:22.3f}" for value in row))


if __name__ == "__main__":
    main()
