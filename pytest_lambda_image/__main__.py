"""Command-line helpers.

python -m pytest_lambda_image fetch-rie [--arch x86_64|arm64]
    put the RIE binaries in the cache (from the aws-sam-cli wheel, via pip)
    and print the binary's path
python -m pytest_lambda_image gateway IMAGE [--route "GET /items/{id}" ...]
    [--format 1.0|2.0|url|alb] [--binary-media-type TYPE ...] [--multi-value-headers]
    [--port 3000] [--env KEY=VALUE ...] [--handler H]
    run IMAGE under the RIE behind a local API Gateway until Ctrl-C
python -m pytest_lambda_image build [CONTEXT] --tag TAG [--file Dockerfile] [--target T]
    [--build-arg K=V ...] [--platform P] [--secret id=..,src=..|env=.. ...] [--ssh default]
    [--builder auto|buildkit|legacy] [--docker-cli PATH]
    build an image Lambda accepts (one platform, no attestation index) the way
    the plugin does, on whichever builder this machine has: for CI gates
python -m pytest_lambda_image audit IMAGE|ARCHIVE.tar [--allow SPEC ...] [--strict]
    the built-in static audit (extensions, credentials, layers, limits) of an
    image on the engine or a `docker save` / OCI archive; exit 1 on findings
python -m pytest_lambda_image from-zip FUNCTION.zip [--layer LAYER.zip ...] --handler H
    --out DIR [--base IMAGE] [--tag TAG] [--platform P] [--builder B] [--no-build]
    a function image from a .zip function and its layers (in the function's
    order) on a Lambda base; DIR keeps the Dockerfile and extracted zips to commit
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import threading
from typing import TYPE_CHECKING

from ._runtime.rie import RIE_ARCHES, fetch_rie
from .errors import LambdaImageError

if TYPE_CHECKING:
    from .build.spec import BuildSpec


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m pytest_lambda_image")
    commands = parser.add_subparsers(dest="command", required=True)
    fetch = commands.add_parser("fetch-rie", help="download the RIE binaries into the cache and print a path")
    fetch.add_argument("--arch", choices=RIE_ARCHES, default="x86_64", help="which binary's path to print")
    gateway = commands.add_parser("gateway", help="serve a function image over HTTP through a local API Gateway")
    gateway.add_argument("image", help="function image tag or digest")
    gateway.add_argument("--route", action="append", default=[], help="route such as 'GET /items/{id}' (repeatable)")
    gateway.add_argument("--format", choices=("1.0", "2.0", "url", "alb"), default="1.0", help="payload format")
    gateway.add_argument(
        "--binary-media-type",
        action="append",
        default=[],
        metavar="TYPE",
        help="REST (1.0) binary media type such as image/png, image/* or */* (repeatable)",
    )
    gateway.add_argument(
        "--multi-value-headers",
        action="store_true",
        help="ALB: the target group's multi-value headers setting (multiValueHeaders in events and responses)",
    )
    gateway.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    gateway.add_argument("--port", type=int, default=3000, help="port to listen on (0: any free port)")
    gateway.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="function environment")
    gateway.add_argument("--handler", help="handler override")
    gateway.add_argument("--timeout", default=30, help="function timeout in seconds (default 30)")
    gateway.add_argument("--rie", help="RIE binary for images without one")
    build = commands.add_parser("build", help="build a function image Lambda accepts, as the plugin builds it")
    build.add_argument("context", nargs="?", default=".", help="build context (default: .)")
    build.add_argument("--tag", "-t", required=True, help="the image's tag, e.g. $ECR_REPO:$GIT_SHA")
    build.add_argument("--file", "-f", help="Dockerfile (default: CONTEXT/Dockerfile)")
    build.add_argument("--target", help="build target stage")
    build.add_argument("--build-arg", action="append", default=[], metavar="KEY=VALUE", help="build argument")
    build.add_argument("--platform", choices=("linux/amd64", "linux/arm64"), help="target platform")
    build.add_argument("--secret", action="append", default=[], help="id=NAME,src=FILE or id=NAME,env=VAR")
    build.add_argument("--ssh", action="append", default=[], help="default or ID=PATH")
    build.add_argument("--builder", choices=("auto", "buildkit", "legacy"), default="auto")
    build.add_argument("--docker-cli", help="the docker CLI for BuildKit builds")
    audit = commands.add_parser("audit", help="audit an image (or a docker save / OCI archive) without running it")
    audit.add_argument("image", help="image tag, id, or path to a .tar archive")
    audit.add_argument("--allow", action="append", default=[], help="allowlist entry: rule=R path=GLOB fingerprint=F")
    audit.add_argument("--strict", action="store_true", help="warnings fail too")
    from_zip = commands.add_parser("from-zip", help="build a function image from a .zip function and layer zips")
    from_zip.add_argument("function_zip", metavar="FUNCTION.zip", help="the function's deployment package")
    from_zip.add_argument(
        "--layer", action="append", default=[], metavar="LAYER.zip", help="a layer zip, in the function's order"
    )
    from_zip.add_argument("--handler", required=True, help="the zip function's handler, e.g. app.handler")
    from_zip.add_argument("--out", required=True, metavar="DIR", help="where the Dockerfile and extracted zips go")
    from_zip.add_argument("--base", default=None, help="Lambda base image (default public.ecr.aws/lambda/python:3.12)")
    from_zip.add_argument("--tag", "-t", help="the image's tag (default pytest-lambda-image/<DIR name>:<hash>)")
    from_zip.add_argument("--platform", choices=("linux/amd64", "linux/arm64"), help="target platform")
    from_zip.add_argument("--builder", choices=("auto", "buildkit", "legacy"), default="auto")
    from_zip.add_argument("--no-build", action="store_true", help="only write DIR (to commit or build elsewhere)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "gateway" and args.multi_value_headers and args.format != "alb":
        parser.error("--multi-value-headers needs --format alb")
    if args.command == "audit":
        return run_audit(args)
    builds = {"build": run_build, "from-zip": run_from_zip}
    if args.command in builds:
        try:
            return builds[args.command](args)
        except LambdaImageError as exc:
            print(f"{args.command}: {exc}", file=sys.stderr)
            return 1
    if args.command == "fetch-rie":
        try:
            paths = fetch_rie()
        except (subprocess.CalledProcessError, OSError, KeyError, StopIteration) as exc:
            print(f"fetch-rie: could not get the RIE from the aws-sam-cli wheel: {exc}", file=sys.stderr)
            return 1
        print(paths[args.arch])
        return 0
    try:
        return serve_gateway(args)
    except LambdaImageError as exc:
        print(f"gateway: {exc}", file=sys.stderr)
        return 1


def run_audit(args: argparse.Namespace) -> int:
    import os

    from ._runtime.engine import DockerEngine
    from .audit import ImageAudit

    try:
        if os.path.isfile(args.image):
            audit = ImageAudit.from_archive(args.image, allow=args.allow)
        else:
            audit = ImageAudit.of(DockerEngine.connect(), args.image, allow=args.allow)
        with audit:
            reports = audit.reports()
    except (LambdaImageError, ValueError) as exc:
        print(f"audit: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # noqa: BLE001 - exit 1 means "findings"; anything else must not look like that
        print(f"audit: could not audit {args.image}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 2
    for report in reports:
        print(report.format() if report.findings else report.summary())
    return 1 if any(report.failed(args.strict) for report in reports) else 0


def serve_gateway(args: argparse.Namespace) -> int:
    from ._runtime.function import LambdaFunction
    from ._runtime.settings import parse_key_values
    from .gateway.server import LocalApiGateway

    function = LambdaFunction(
        args.image,
        env=parse_key_values(args.env, "--env value"),
        handler=args.handler,
        timeout=args.timeout,
        rie_path=args.rie,
    )
    # Made before the function starts: a bad --route is refused without a container.
    gateway = LocalApiGateway(
        function,
        routes=args.route or None,
        payload_format=args.format,
        binary_media_types=args.binary_media_type,
        multi_value_headers=args.multi_value_headers,
        host=args.host,
        port=args.port,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with function, gateway:
        routes = ", ".join(route.key for route in gateway.routes)
        print(
            f"serving {args.image} at {gateway.url} (payload {args.format}; routes: {routes}); Ctrl-C stops", flush=True
        )
        try:
            while not stop.wait(0.2):
                while gateway.exchanges:
                    print(gateway.exchanges.popleft().summary(), flush=True)
        except KeyboardInterrupt:
            pass
    return 0


def run_build(args: argparse.Namespace) -> int:
    from ._runtime.settings import parse_key_values
    from .build.spec import BuildSpec

    spec = BuildSpec(
        context=args.context,
        dockerfile=args.file,
        target=args.target,
        build_args=parse_key_values(args.build_arg, "--build-arg value"),
        platform=args.platform,
        tag=args.tag,
        secrets=tuple(args.secret),
        ssh=tuple(args.ssh),
        builder=args.builder,
        docker_cli=args.docker_cli,
    )
    return _build_and_print(spec, "build")


def run_from_zip(args: argparse.Namespace) -> int:
    from .build.zip_image import DEFAULT_BASE, prepare_zip_image

    spec = prepare_zip_image(
        args.function_zip,
        args.layer,
        handler=args.handler,
        out_dir=args.out,
        base=args.base or DEFAULT_BASE,
        tag=args.tag,
        platform=args.platform,
        builder=args.builder,
    )
    print(f"from-zip: wrote {spec.dockerfile_path} and the extracted zips", file=sys.stderr)
    if args.no_build:
        return 0
    return _build_and_print(spec, "from-zip")


def _build_and_print(spec: BuildSpec, command: str) -> int:
    """Build with the build's output on stderr; the image's tag alone on stdout, for scripts."""
    from ._runtime.engine import DockerEngine
    from .build import build_image

    engine = DockerEngine.connect()
    try:
        image = build_image(engine, spec, progress=lambda line: print(line, file=sys.stderr))
    finally:
        engine.close()
    print(f"{command}: {image.build_summary or image.ref}", file=sys.stderr)
    print(image.ref)
    return 0


if __name__ == "__main__":
    sys.exit(main())
