"""Build figures: a cold build (no layer cache for this context's own steps),
a cache hit (unchanged inputs: no build at all) and a rebuild after a code
edit (the builder's layer cache reused), per builder available here.

    python benchmarks/bench_build.py [--base-image TAG] [--rounds N]

Prints figures; asserts nothing (shared machines are noisy). Builds
examples/python-function on the stand-in base (scripts/setup.sh must have run).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
import uuid
from pathlib import Path

from pytest_lambda_image import BuildSpec, DockerEngine, build_image
from pytest_lambda_image.build import find_buildkit_cli

ROOT = Path(__file__).resolve().parent.parent


def measure(engine: DockerEngine, base: str, builder: str, rounds: int) -> dict[str, list[float]]:
    figures: dict[str, list[float]] = {"cold build": [], "cache hit": [], "rebuild after an edit": []}
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            context = Path(tmp) / f"bench-{uuid.uuid4().hex[:8]}"
            shutil.copytree(ROOT / "examples" / "python-function", context)
            app = context / "app.py"
            # A step of this copy's own, so the layer cache of earlier rounds does not apply.
            dockerfile = context / "Dockerfile"
            dockerfile.write_text(dockerfile.read_text().replace("RUN pip", f"RUN : {uuid.uuid4().hex} && pip", 1))
            spec = BuildSpec(context, build_args={"BASE_IMAGE": base}, builder=builder, keep=1)
            for name in ("cold build", "cache hit"):
                t0 = time.perf_counter()
                build_image(engine, spec)
                figures[name].append(time.perf_counter() - t0)
            app.write_text(app.read_text() + "\n# edited\n")
            t0 = time.perf_counter()
            image = build_image(engine, spec)
            figures["rebuild after an edit"].append(time.perf_counter() - t0)
            repository = image.ref.rsplit(":", 1)[0]
            for item in engine.client.images.list(name=repository):
                for tag in item.tags:
                    engine.client.images.remove(tag)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-image", default="pytest-lambda-image/python-base:3.11")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    engine = DockerEngine.connect()
    builders = ["legacy"] + (["buildkit"] if find_buildkit_cli() else [])
    print(f"{'builder':10} {'measure':24} {'median':>9} {'min':>9}")
    for builder in builders:
        for name, values in measure(engine, args.base_image, builder, args.rounds).items():
            print(f"{builder:10} {name:24} {statistics.median(values):8.2f}s {min(values):8.2f}s")


if __name__ == "__main__":
    main()
