"""Cold start, warm invoke latency and a short lifecycle, through the plugin
and through the raw docker SDK + a requests.Session against the same RIE
(plus a floor: the same warm invokes with http.client, the plugin's own HTTP
client, which shows what deciding each outcome from the RIE's log costs).

    python benchmarks/bench_invoke.py [--image TAG] [--rounds N]

Prints figures and plugin/raw ratios; asserts nothing (shared machines are noisy).
Without --image it builds examples/python-function on the stand-in base image
(scripts/build-base-image.sh must have run).
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import time
from pathlib import Path
from typing import Any

import docker
import requests

from pytest_lambda_image import BuildSpec, DockerEngine, LambdaFunction, build_image, get_image
from pytest_lambda_image._runtime.cleanup import container_labels
from pytest_lambda_image.relay import RELAY_ENV

INVOKE = "/2015-03-31/functions/function/invocations"
EVENT = b'{"name": "bench"}'
ROOT = Path(__file__).resolve().parent.parent


def raw_start(
    client: docker.DockerClient, image: str, env: dict[str, str] | None = None
) -> tuple[Any, requests.Session, str]:
    """A container as `docker run -p 127.0.0.1::8080` starts it, once its RIE listens."""
    container = client.containers.run(
        image, detach=True, environment=env, ports={"8080/tcp": ("127.0.0.1", None)}, labels=container_labels()
    )
    container.reload()
    base = f"http://127.0.0.1:{container.ports['8080/tcp'][0]['HostPort']}"
    session = requests.Session()
    while True:
        try:
            session.get(base + "/", timeout=1)
            break
        except requests.exceptions.RequestException:
            time.sleep(0.005)
    return container, session, base


def raw_http_client(base: str) -> http.client.HTTPConnection:
    host, port = base.rsplit("/", 1)[-1].split(":")
    return http.client.HTTPConnection(host, int(port), timeout=30)


def raw_invoke_http_client(conn: http.client.HTTPConnection) -> bytes:
    conn.request("POST", INVOKE, body=EVENT, headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    body = response.read()
    assert response.status == 200, body
    return body


def raw_invoke(session: requests.Session, base: str) -> bytes:
    response = session.post(base + INVOKE, data=EVENT, timeout=30)
    assert response.status_code == 200, response.content
    return response.content


def raw_cold(client: docker.DockerClient, image: str) -> float:
    t0 = time.perf_counter()
    container, session, base = raw_start(client, image)
    raw_invoke(session, base)
    elapsed = time.perf_counter() - t0
    container.remove(force=True)
    session.close()
    return elapsed


def plugin_cold(engine: DockerEngine, image, fidelity: bool = True) -> float:
    t0 = time.perf_counter()
    fn = LambdaFunction(image, engine=engine, fidelity=fidelity).start()
    fn.invoke(payload=EVENT).raise_for_error()
    elapsed = time.perf_counter() - t0
    fn.stop()
    return elapsed


def raw_lifecycle(client: docker.DockerClient, image: str) -> float:
    t0 = time.perf_counter()
    container, session, base = raw_start(client, image)
    for _ in range(20):
        raw_invoke(session, base)
    container.remove(force=True)
    session.close()
    return time.perf_counter() - t0


def plugin_lifecycle(engine: DockerEngine, image) -> float:
    t0 = time.perf_counter()
    with LambdaFunction(image, engine=engine) as fn:
        for _ in range(20):
            fn.invoke(payload=EVENT).raise_for_error()
    return time.perf_counter() - t0


def warm(invoke, n: int) -> list[float]:
    for _ in range(10):
        invoke()
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        invoke()
        times.append(time.perf_counter() - t0)
    return times


def relay_cost(engine: DockerEngine, image, n: int) -> tuple[list[float], list[float]]:
    """Warm invokes without and with the trace relay (the runtime's trace id),
    two containers side by side, alternated in blocks so drift hits both alike."""
    saved = os.environ.get(RELAY_ENV)
    os.environ[RELAY_ENV] = "0"
    try:
        without = LambdaFunction(image, engine=engine).start()
    finally:
        if saved is None:
            del os.environ[RELAY_ENV]
        else:
            os.environ[RELAY_ENV] = saved
    return alternated(without, LambdaFunction(image, engine=engine), n)


def alternated(first: LambdaFunction, second: LambdaFunction, n: int) -> tuple[list[float], list[float]]:
    """Warm invokes of two functions side by side, alternated in blocks of 20
    so drift hits both alike."""
    with first.start(), second.start():
        one, two = [], []
        for _ in range(max(1, n // 20)):
            one += warm(lambda: first.invoke(payload=EVENT), 20)
            two += warm(lambda: second.invoke(payload=EVENT), 20)
    return one, two


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", help="function image tag (default: build examples/python-function)")
    parser.add_argument("--base-image", default="pytest-lambda-image/python-base:3.11")
    parser.add_argument("--rounds", type=int, default=9, help="cold starts and lifecycles per side")
    parser.add_argument("--invokes", type=int, default=200, help="warm invokes per side")
    args = parser.parse_args()

    engine = DockerEngine.connect()
    if args.image:
        image = get_image(engine, args.image)
    else:
        spec = BuildSpec(context=ROOT / "examples" / "python-function", build_args={"BASE_IMAGE": args.base_image})
        image = build_image(engine, spec)
    client = engine.client
    print(f"image: {image.ref} ({image.id[:19]})")

    # One untimed start each, so image inspection and page cache are warm on both sides.
    plugin_cold(engine, image)
    raw_cold(client, image.id)

    cold_raw, cold_plugin, cold_plain, life_raw, life_plugin = [], [], [], [], []
    for _ in range(args.rounds):  # interleaved so drift hits both sides alike
        cold_raw.append(raw_cold(client, image.id))
        cold_plugin.append(plugin_cold(engine, image))
        cold_plain.append(plugin_cold(engine, image, fidelity=False))
        life_raw.append(raw_lifecycle(client, image.id))
        life_plugin.append(plugin_lifecycle(engine, image))

    container, session, base = raw_start(client, image.id)
    warm_raw = warm(lambda: raw_invoke(session, base), args.invokes)
    # The floor: the same invokes with the standard library's HTTP client, as the plugin uses.
    conn = raw_http_client(base)
    warm_floor = warm(lambda: raw_invoke_http_client(conn), args.invokes)
    conn.close()
    container.remove(force=True)
    with LambdaFunction(image, engine=engine) as fn:
        warm_plugin = warm(lambda: fn.invoke(payload=EVENT), args.invokes)
        # Reading the outcome waits for the runtime's call in the RIE's log.
        warm_outcome = warm(lambda: fn.invoke(payload=EVENT).ok, args.invokes)
    warm_plain, warm_fidelity = alternated(
        LambdaFunction(image, engine=engine, fidelity=False), LambdaFunction(image, engine=engine), args.invokes
    )
    untraced, traced = relay_cost(engine, image, args.invokes)

    rows = [
        (
            "cold start (create -> first invoke), median",
            statistics.median(cold_raw),
            statistics.median(cold_plugin),
            1.20,
        ),
        ("warm invoke, median", statistics.median(warm_raw), statistics.median(warm_plugin), 1.15),
        ("warm invoke, p95", pct(warm_raw, 0.95), pct(warm_plugin, 0.95), 1.15),
        ("warm invoke + outcome (.ok), median", statistics.median(warm_raw), statistics.median(warm_outcome), 1.15),
        ("start + 20 invokes + stop, median", statistics.median(life_raw), statistics.median(life_plugin), 1.20),
    ]
    # What running like Lambda costs: the plugin with fidelity against itself without.
    fidelity_rows = [
        ("cold start, median", statistics.median(cold_plain), statistics.median(cold_plugin), 1.10),
        ("warm invoke, median", statistics.median(warm_plain), statistics.median(warm_fidelity), 1.10),
    ]
    print(f"{'measure':46} {'raw':>10} {'plugin':>10} {'ratio':>7} {'target':>7}")
    for name, raw, plugin, target in rows:
        print(f"{name:46} {raw * 1000:8.2f}ms {plugin * 1000:8.2f}ms {plugin / raw:7.2f} {target:7.2f}")
    floor, plugin = statistics.median(warm_floor), statistics.median(warm_plugin)
    print(
        f"{'warm invoke vs raw with http.client, median':46} {floor * 1000:8.2f}ms {plugin * 1000:8.2f}ms "
        f"{plugin / floor:7.2f}       -  (what deciding the outcome from the RIE's log costs)"
    )
    print(f"\n{'fidelity cost (plugin)':46} {'plain':>10} {'fidelity':>10} {'ratio':>7} {'target':>7}")
    for name, plain, fidelity, target in fidelity_rows:
        print(f"{name:46} {plain * 1000:8.2f}ms {fidelity * 1000:8.2f}ms {fidelity / plain:7.2f} {target:7.2f}")
    # What giving the runtime its trace id costs (relay/: two more hops per invoke inside the container).
    print(f"\n{'trace relay cost (plugin, interleaved)':46} {'without':>10} {'with':>10} {'ratio':>7} {'target':>7}")
    for name, pick in (("warm invoke, median", statistics.median), ("warm invoke, p95", lambda v: pct(v, 0.95))):
        off, on = pick(untraced), pick(traced)
        print(f"{name:46} {off * 1000:8.2f}ms {on * 1000:8.2f}ms {on / off:7.2f} {1.15:7.2f}")


if __name__ == "__main__":
    main()
