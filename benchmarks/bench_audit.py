"""How fast the static audit reads an image, against the floor of reading it
at all: `docker save IMAGE | cat > /dev/null`.

    python benchmarks/bench_audit.py [--image TAG ...] [--rounds N] [--phases]

Without --image it builds (once; the tag is reused) a ~1 GB image from a
generated context on the stand-in base: many files of mixed size, compressible
source and text, random binaries, a few large files, in several layers.
For each image it prints the medians of N rounds of the `docker save | cat`
time, the whole audit's time (the CI gate: save, index, credentials,
extensions, layers, limits), their ratio, and the audit's peak resident
memory (each audit runs in a fresh child process, so its peak is its own).
`--phases` adds the split of the audit's time. Prints figures; asserts
nothing (shared machines are noisy).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BASE = "pytest-lambda-image/python-base:3.11"
#: bump when the generated content changes, so a stale image is not reused
GENERATED = "pytest-lambda-image/bench-audit-1g:v2"
_WORDS = (
    "def class return import from self event context handler value items result config client session "
    "request response payload table bucket queue message record batch retry timeout error logger json"
).split()


def _text(rng: random.Random, size: int) -> bytes:
    """Source-like text: compressible, but not one repeated line."""
    lines, total = [], 0
    while total < size:
        words = rng.choices(_WORDS, k=rng.randint(3, 12))
        line = "    " * rng.randint(0, 3) + " ".join(words) + f"  # {rng.randint(0, 10**6)}\n"
        lines.append(line)
        total += len(line)
    return "".join(lines).encode()[:size]


def generate_context(directory: Path, seed: int = 13) -> None:
    """~780 MB (~1 GB with the base) in four layers: a source tree (many small
    text files), a node_modules-like tree (text and some bundles), binaries
    (random bytes, mixed sizes, zero runs), and two large files (a 40 MB
    bundle, a 100 MB model-like blob)."""
    rng = random.Random(seed)
    trees = {"src": 0, "modules": 0, "bin": 0, "big": 0}
    for tree in trees:
        (directory / tree).mkdir(parents=True)
    text_block = _text(rng, 4 * 1024 * 1024)  # sliced from, so generation stays quick

    def text(size: int) -> bytes:
        start = rng.randrange(0, len(text_block) - size) if size < len(text_block) else 0
        return (text_block * (size // len(text_block) + 1))[start : start + size]

    for i in range(12_000):  # ~120 MB of source files, 0.5-20 KB
        path = directory / "src" / f"pkg{i % 60}" / f"mod{i}.py"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(text(rng.randint(512, 20 * 1024)))
    for i in range(6_000):  # ~130 MB of node_modules: small files and some 1-3 MB bundles
        path = directory / "modules" / f"lib{i % 300}" / f"f{i}.js"
        path.parent.mkdir(exist_ok=True)
        size = rng.randint(1, 3) * 1024 * 1024 if i % 200 == 0 else rng.randint(512, 24 * 1024)
        path.write_bytes(text(size))
    for i in range(1_000):  # ~390 MB of binaries: random bytes, 16 KB - 1 MB, some with zero runs
        path = directory / "bin" / f"d{i % 40}" / f"lib{i}.so"
        path.parent.mkdir(exist_ok=True)
        size = rng.randint(16 * 1024, 1024 * 1024) if i % 3 else rng.randint(16 * 1024, 256 * 1024)
        data = bytearray(os.urandom(size))
        data[:4] = b"\x7fELF"
        zeros = rng.randint(0, size // 4)
        at = rng.randrange(0, size - zeros)
        data[at : at + zeros] = bytes(zeros)
        path.write_bytes(bytes(data))
    (directory / "big" / "bundle.js").write_bytes(text(40 * 1024 * 1024))
    (directory / "big" / "model.bin").write_bytes(os.urandom(100 * 1024 * 1024))
    (directory / "Dockerfile").write_text(
        f"FROM {BASE}\n"
        "COPY src/ /var/task/\n"
        "COPY modules/ /opt/nodejs/node_modules/\n"
        "COPY bin/ /opt/lib/\n"
        "COPY big/ /var/task/data/\n"
        'CMD ["app.handler"]\n'
    )


def ensure_generated_image() -> str:
    if subprocess.run(["docker", "image", "inspect", GENERATED], capture_output=True).returncode == 0:
        return GENERATED
    print(f"building {GENERATED} (~1 GB, once) ...", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        generate_context(Path(tmp))
        subprocess.run(["docker", "build", "-q", "-t", GENERATED, tmp], check=True, stdout=subprocess.DEVNULL)
    return GENERATED


def save_floor(image: str) -> float:
    """Seconds for `docker save IMAGE | cat > /dev/null`."""
    started = time.perf_counter()
    subprocess.run(f"docker save {image} | cat > /dev/null", shell=True, check=True)
    return time.perf_counter() - started


def audit_in_child(image: str, code: Path = ROOT) -> dict[str, float]:
    """One audit in a fresh process (of the package in `code`): its time and its own peak RSS."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [sys.executable, __file__, "--child", image], stdout=subprocess.PIPE, cwd=code, env=_child_env(code)
    )
    out = child.stdout.read() if child.stdout else b""
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    if child.returncode:
        raise SystemExit(f"the audit of {image} failed (exit {child.returncode})")
    figures = json.loads(out)
    figures["wall"] = time.perf_counter() - started
    figures["rss_mib"] = usage.ru_maxrss / 1024
    figures["cpu"] = usage.ru_utime + usage.ru_stime  # the whole child, start-up included
    return figures


def _child_env(code: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(code), os.environ.get("PYTHONPATH", "")])}


def child(image: str) -> None:
    """The audit as the CI gate runs it, timed per phase (printed as JSON)."""
    from pytest_lambda_image import DockerEngine
    from pytest_lambda_image.audit import ImageAudit

    engine = DockerEngine.connect()
    started = time.perf_counter()
    audit = ImageAudit.of(engine, image)
    files = len(audit.filesystem)
    indexed = time.perf_counter()
    audit.credentials()
    scanned = time.perf_counter()
    audit.extensions(), audit.layers(), audit.limits()
    checked = time.perf_counter()
    mib = audit.size / 1024**2
    audit.close()
    import resource

    helper = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the process reading `docker save`
    print(
        json.dumps(
            {
                "save+index": indexed - started,
                "credentials": scanned - indexed,
                "other": checked - scanned,
                "audit": time.perf_counter() - started,
                "files": files,
                "mib": mib,
                "helper_rss_mib": helper,
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--image", action="append", help="image to audit (repeatable); default: a generated ~1 GB one")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--phases", action="store_true", help="also print where the audit's time goes")
    parser.add_argument(
        "--compare-with",
        type=Path,
        metavar="CHECKOUT",
        help="also audit with the package of another checkout (e.g. a `git worktree` of an older commit), "
        "interleaved, for before/after figures on the same image",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    images = args.image or [ensure_generated_image()]
    print(f"{'image':44} {'MiB':>6} {'files':>7} {'save|cat':>9} {'audit':>8} {'ratio':>6} {'peak RSS':>9}")
    codes = [("", ROOT)] + ([(" (compared)", args.compare_with.resolve())] if args.compare_with else [])
    for image in images:
        floors: list[float] = []
        runs: dict[str, list[dict[str, float]]] = {label: [] for label, _ in codes}
        for _ in range(args.rounds):  # interleaved, so all see the same load
            floors.append(save_floor(image))
            for label, code in codes:
                runs[label].append(audit_in_child(image, code))
        floor = statistics.median(floors)
        for label, _ in codes:
            med = {key: statistics.median(run[key] for run in runs[label]) for key in runs[label][0]}
            print(
                f"{(image + label)[:44]:44} {med['mib']:6.0f} {med['files']:7.0f} {floor:8.2f}s {med['audit']:7.2f}s "
                f"{med['audit'] / floor:5.2f}x {max(run['rss_mib'] for run in runs[label]):6.0f} MiB"
            )
            if args.phases:
                print(
                    f"{'':44} read+index+scan {med['save+index']:.2f}s, credential report {med['credentials']:.2f}s, "
                    f"other checks {med['other']:.2f}s; the audit process used {med['cpu']:.2f}s of CPU; "
                    f"its `docker save` reader peaked at {max(r['helper_rss_mib'] for r in runs[label]):.0f} MiB"
                )
    print(f"medians of {args.rounds} rounds; peak RSS is the largest of any round's audit process")


if __name__ == "__main__":
    main()
