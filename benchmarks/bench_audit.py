"""How long the static audit takes and how fast it reads, per phase:
`docker save`, indexing the layers, the credential scan (every file of every
layer), and the other checks.

    python benchmarks/bench_audit.py [--image TAG ...] [--rounds N]

Prints figures; asserts nothing (shared machines are noisy). Without
--image it audits the stand-in base image and examples/python-function
built on it (scripts/build-base-image.sh must have run).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import time
from pathlib import Path

from pytest_lambda_image import BuildSpec, DockerEngine, build_image
from pytest_lambda_image.audit import ImageArchive, ImageAudit

ROOT = Path(__file__).resolve().parent.parent
BASE = "pytest-lambda-image/python-base:3.11"


def measure(engine: DockerEngine, image: str) -> dict[str, float]:
    started = time.perf_counter()
    archive = ImageArchive.save(engine, image)
    saved = time.perf_counter()
    audit = ImageAudit(archive, image, size=engine.client.images.get(image).attrs["Size"])
    files = len(audit.filesystem)
    indexed = time.perf_counter()
    audit.credentials()
    scanned = time.perf_counter()
    audit.extensions(), audit.layers(), audit.limits()
    checked = time.perf_counter()
    audit.close()
    return {
        "save": saved - started,
        "index": indexed - saved,
        "credentials": scanned - indexed,
        "other checks": checked - scanned,
        "total": checked - started,
        "files": files,
        "mib": audit.size / 1024**2,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", action="append", help="image to audit (repeatable)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    engine = DockerEngine.connect()
    images = args.image
    if not images:
        example = build_image(engine, BuildSpec(ROOT / "examples" / "python-function", build_args={"BASE_IMAGE": BASE}))
        images = [BASE, example.ref]
    print(f"{'image':52} {'MiB':>6} {'files':>7} {'save':>7} {'index':>7} {'creds':>7} {'other':>7} {'total':>7}")
    for image in images:
        runs = [measure(engine, image) for _ in range(args.rounds)]
        med = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
        print(
            f"{image[:52]:52} {med['mib']:6.0f} {med['files']:7.0f} {med['save']:6.2f}s {med['index']:6.2f}s "
            f"{med['credentials']:6.2f}s {med['other checks']:6.2f}s {med['total']:6.2f}s"
            f"   ({med['mib'] / med['total']:.0f} MiB/s overall)"
        )
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {peak:.0f} MiB (medians of {args.rounds} rounds)")


if __name__ == "__main__":
    main()
