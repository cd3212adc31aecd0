"""`python -m pytest_lambda_image fetch-rie [--arch x86_64|arm64]`: put the RIE
binaries in the cache (from the aws-sam-cli wheel, via pip) and print the path."""

from __future__ import annotations

import argparse
import subprocess
import sys

from .rie import RIE_ARCHES, fetch_rie


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m pytest_lambda_image")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch-rie", help="download the RIE binaries into the cache and print a path")
    fetch.add_argument("--arch", choices=RIE_ARCHES, default="x86_64", help="which binary's path to print")
    args = parser.parse_args(argv)
    if args.command == "fetch-rie":
        try:
            paths = fetch_rie()
        except (subprocess.CalledProcessError, OSError, KeyError, StopIteration) as exc:
            print(f"fetch-rie: could not get the RIE from the aws-sam-cli wheel: {exc}", file=sys.stderr)
            return 1
        print(paths[args.arch])
    return 0


if __name__ == "__main__":
    sys.exit(main())
