"""A realistic suite through the plugin against the same container work done
serially by hand: 6 tests that each get a fresh container (a marker), 6 tests
on the shared warm container and 3 tests through the local API Gateway, each
invoking 3 times.

    python benchmarks/bench_suite.py [--rounds N] [--base-image TAG]

The plugin side is a real pytest session in a fresh interpreter, timed from
session start to the end of its cleanup (interpreter start-up excluded, and
printed apart). The raw floor starts, invokes and removes the same
containers one after another with the docker SDK and requests. Prints the
ratio (goal: 0.8 or less); asserts nothing (shared machines are noisy).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import docker
from bench_invoke import raw_start  # this directory: run as `python benchmarks/bench_suite.py`

from pytest_lambda_image import BuildSpec, DockerEngine, build_image, events

INVOKE = "/2015-03-31/functions/function/invocations"
FRESH, WARM, GATEWAY, INVOKES = 6, 6, 3, 3

HANDLER = '''
import json

def handler(event, context):
    if isinstance(event, dict) and "requestContext" in event:
        return {"statusCode": 200, "headers": {"content-type": "application/json"},
                "body": json.dumps({"path": event.get("rawPath") or event.get("path")})}
    return {"echo": event}
'''

SUITE = f'''
import pytest
import requests

@pytest.mark.parametrize("n", range({WARM}))
def test_warm(lambda_function, n):
    for i in range({INVOKES}):
        assert lambda_function.invoke({{"n": n, "i": i}}).json() == {{"echo": {{"n": n, "i": i}}}}

@pytest.mark.parametrize("n", range({GATEWAY}))
def test_gateway(lambda_gateway_url, n):
    for i in range({INVOKES}):
        assert requests.get(f"{{lambda_gateway_url}}/items/{{n}}", timeout=30).json() == {{"path": f"/items/{{n}}"}}
'''
# Fresh tests, marked one by one (a marker per test, as users write them), after the others.
FRESH_TESTS = "".join(
    f'''
@pytest.mark.lambda_function(env={{"TEST": "fresh-{n}"}})
def test_fresh_{n}(lambda_function):
    for i in range({INVOKES}):
        assert lambda_function.invoke({{"i": i}}).json() == {{"echo": {{"i": i}}}}
'''
    for n in range(FRESH)
)

TIMER = '''
import json, time
import pytest

@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    session.config._bench_t0 = time.perf_counter()

@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config):
    with open("timing.json", "w") as f:
        json.dump({"session": time.perf_counter() - config._bench_t0}, f)
'''


def plugin_run(project: Path, image: str) -> tuple[float, float]:
    t0 = time.perf_counter()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--lambda-image={image}"],
        cwd=project,
        capture_output=True,
        text=True,
    )
    total = time.perf_counter() - t0
    if run.returncode != 0:
        sys.exit(f"the suite failed:\n{run.stdout[-3000:]}")
    return json.loads((project / "timing.json").read_text())["session"], total


def raw_run(client: docker.DockerClient, image: str) -> float:
    t0 = time.perf_counter()
    for n in range(FRESH):
        container, session, base = raw_start(client, image, {"TEST": f"fresh-{n}"})
        for i in range(INVOKES):
            assert session.post(base + INVOKE, json={"i": i}, timeout=30).json() == {"echo": {"i": i}}
        container.remove(force=True)
    container, session, base = raw_start(client, image)
    for n in range(WARM):
        for i in range(INVOKES):
            session.post(base + INVOKE, json={"n": n, "i": i}, timeout=30).raise_for_status()
    for n in range(GATEWAY):
        for _ in range(INVOKES):
            event = events.apigw_rest("GET", f"/items/{n}")
            assert session.post(base + INVOKE, json=event, timeout=30).status_code == 200
    container.remove(force=True)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--base-image", default="pytest-lambda-image/python-base:3.11")
    args = parser.parse_args()
    engine = DockerEngine.connect()
    with tempfile.TemporaryDirectory() as tmp:
        context = Path(tmp, "bench-suite-fn")
        context.mkdir()
        (context / "app.py").write_text(HANDLER)
        (context / "Dockerfile").write_text(
            'ARG BASE_IMAGE\nFROM ${BASE_IMAGE}\nCOPY app.py ${LAMBDA_TASK_ROOT}/\nCMD ["app.handler"]\n'
        )
        image = build_image(engine, BuildSpec(context, build_args={"BASE_IMAGE": args.base_image}))
        project = Path(tmp, "project")
        project.mkdir()
        (project / "test_suite.py").write_text(SUITE + FRESH_TESTS)
        (project / "conftest.py").write_text(TIMER)
        (project / "pytest.ini").write_text("[pytest]\nlambda_timeout = 10\n")
        print(f"image: {image.ref}; {FRESH} fresh, {WARM} warm and {GATEWAY} gateway tests, {INVOKES} invokes each")
        plugin_run(project, image.ref)  # untimed: page cache, image inspection
        raw_run(engine.client, image.id)
        sessions, totals, raws = [], [], []
        for _ in range(args.rounds):  # interleaved so drift hits both sides alike
            session, total = plugin_run(project, image.ref)
            sessions.append(session)
            totals.append(total)
            raws.append(raw_run(engine.client, image.id))
    plugin, raw = statistics.median(sessions), statistics.median(raws)
    print(f"{'raw, serial by hand':42} {raw:7.2f} s")
    print(f"{'plugin, pytest session':42} {plugin:7.2f} s   ratio {plugin / raw:.2f}   (goal 0.80 or less)")
    print(f"{'plugin, whole command (interpreter too)':42} {statistics.median(totals):7.2f} s")


if __name__ == "__main__":
    main()
