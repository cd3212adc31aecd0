"""The AWS a function talks to in tests: moto's server, started in this
process, or an endpoint the user runs (LocalStack, a team's own).

How the function containers reach it: the server listens on loopback only;
a relay (relay.py) listens on the Docker bridge's host address, the address
`host-gateway` names, and the functions get that address as
AWS_ENDPOINT_URL. An IP address, not a name, so that the SDKs use path-style
S3 URLs (a bucket name cannot be prepended to an IP). Nothing listens on
the machine's other interfaces."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import socket
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse, urlunparse

import requests

from .._runtime.engine import DockerEngine, docker_errors
from .._runtime.settings import PullPolicy
from ..errors import ConfigError, LambdaImageError
from .relay import TcpRelay

if TYPE_CHECKING:
    from .._runtime.function import LambdaFunction
    from .event_source import SqsEventSource

# Not secrets: what moto and LocalStack accept. The function gets these
# instead of any real credentials.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
INSTALL_HINT = "pip install 'pytest-lambda-image[aws]'"
_LOOPBACK_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost")


class AwsBackend:
    """An AWS endpoint shared by the tests and the functions they start.

    `client()` / `resource()` give boto3 objects bound to it with fake
    credentials; `environment()` is what a function container gets so that
    its SDK talks to it (AWS_ENDPOINT_URL, honoured by botocore 1.31+ and the
    AWS SDKs of 2023 on, for every service)."""

    kind = "endpoint"

    def __init__(self, endpoint_url: str, function_endpoint_url: str, region: str) -> None:
        #: where this process (the tests) reaches the backend
        self.endpoint_url = endpoint_url
        #: where function containers reach it
        self.function_endpoint_url = function_endpoint_url
        self.region = region
        #: the Docker network function containers must join to reach it (None: any)
        self.network: str | None = None
        self._relays: list[TcpRelay] = []

    def environment(self) -> dict[str, str]:
        """Variables that point a function's SDK at this backend."""
        return {"AWS_ENDPOINT_URL": self.function_endpoint_url, **FAKE_CREDENTIALS}

    def session(self) -> Any:
        """A boto3 Session with the fake credentials and the backend's region:
        never the host's credentials or profile."""
        boto3 = _import_boto3()
        return boto3.session.Session(
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            aws_session_token=FAKE_CREDENTIALS["AWS_SESSION_TOKEN"],
            region_name=self.region,
        )

    def client(self, service: str, **kwargs: Any) -> Any:
        """`lambda_aws.client("dynamodb")`: a boto3 client bound to the backend."""
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        return self.session().client(service, **kwargs)

    def resource(self, service: str, **kwargs: Any) -> Any:
        """`lambda_aws.resource("s3")`: a boto3 resource bound to the backend."""
        kwargs.setdefault("endpoint_url", self.endpoint_url)
        return self.session().resource(service, **kwargs)

    def reset(self) -> None:
        """Forget every resource. An external endpoint keeps its state (there
        is no common way to wipe it): this raises for one."""
        raise LambdaImageError(
            f"the AWS endpoint {self.endpoint_url} is not the plugin's own: it cannot be reset between tests; "
            "clean up what a test creates, or use the plugin's moto backend"
        )

    def sqs_event_source(
        self,
        function: LambdaFunction,
        queue_url: str,
        *,
        batch_size: int = 10,
        report_batch_item_failures: bool = True,
    ) -> SqsEventSource:
        """Feed a queue of this backend to `function` as an SQS event source
        mapping would: `.poll()` one batch, `.drain()` until the queue is empty."""
        from .event_source import SqsEventSource

        return SqsEventSource(
            self, function, queue_url, batch_size=batch_size, report_batch_item_failures=report_batch_item_failures
        )

    def sqs_destination(self, queue_url: str) -> Callable[[dict[str, Any]], None]:
        """An async invoke's destination (`invoke_async(..., on_failure=...)`):
        sends Lambda's invocation record to a queue of this backend, as JSON."""
        sqs = self.client("sqs")
        return lambda record: sqs.send_message(QueueUrl=queue_url, MessageBody=json.dumps(record))

    def destination(self, arn: str, create: bool = False) -> Callable[[dict[str, Any]], None]:
        """An async invoke's destination by ARN, as Lambda delivers there: an
        SQS queue (the record as the message body), an SNS topic (as the
        message) or an EventBridge bus (as the detail of a `lambda` event).
        `create`: make the queue, topic or bus on delivery when missing."""
        from .destinations import destination

        return destination(self, arn, create)

    def dead_letter(self, arn: str, create: bool = False) -> Callable[[Mapping[str, Any]], None]:
        """An async invoke's dead-letter queue by ARN (an SQS queue or an SNS
        topic): the event as the message, with Lambda's RequestID, ErrorCode
        and ErrorMessage attributes."""
        from .destinations import dead_letter

        return dead_letter(self, arn, create)

    def close(self) -> None:
        while self._relays:
            self._relays.pop().close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.endpoint_url} (functions: {self.function_endpoint_url})>"


class ResettableMoto(AwsBackend):
    """A moto server of the plugin's own, wiped through moto's `/moto-api/reset`."""

    kind = "moto"

    def __init__(self, endpoint_url: str, function_endpoint_url: str, region: str) -> None:
        super().__init__(endpoint_url, function_endpoint_url, region)
        self._http = requests.Session()
        self._http.trust_env = False  # a proxy must not stand between the tests and a local server

    def reset(self) -> None:
        """Forget every resource (moto's `/moto-api/reset`)."""
        try:
            self._http.post(f"{self.endpoint_url}/moto-api/reset", timeout=30).raise_for_status()
        except requests.RequestException as exc:
            raise LambdaImageError(f"could not reset moto's server at {self.endpoint_url}: {exc}") from None

    def close(self) -> None:
        super().close()
        self._http.close()


class MotoBackend(ResettableMoto):
    """moto's server (moto[server]) in a thread of this process, on loopback."""

    def __init__(self, engine: DockerEngine, region: str) -> None:
        self._server = _moto_server()
        self._thread = threading.Thread(
            # A short poll so the session's end does not wait half a second for it.
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="pytest-lambda-moto",
            daemon=True,
        )
        self._thread.start()
        host, port = self._server.server_address[:2]
        local = f"http://{host}:{port}"
        try:
            relay = _relay_for_containers(
                engine, (host, port), "moto's server", "Run moto in a container instead: lambda_aws_server = container"
            )
        except BaseException:
            self._stop_server()
            raise
        super().__init__(local, f"http://{relay.address[0]}:{relay.port}", region)
        self._relays.append(relay)

    def _stop_server(self) -> None:
        with contextlib.suppress(Exception):
            self._server.shutdown()
            self._server.server_close()
        self._thread.join(timeout=5)

    def close(self) -> None:
        super().close()
        self._stop_server()


def _moto_server() -> Any:
    """moto's WSGI application in a threaded werkzeug server on a free
    loopback port, without a log line per request (they would fill every
    failed test's captured log)."""
    try:
        from moto.moto_server import werkzeug_app
        from werkzeug.serving import WSGIRequestHandler, make_server
    except ImportError:
        raise ConfigError(f"the AWS backend needs moto's server: {INSTALL_HINT}") from None
    # Newer moto's own handler keeps S3 metadata headers with underscores; older moto has werkzeug's.
    base = getattr(werkzeug_app, "MotoRequestHandler", WSGIRequestHandler)

    class QuietHandler(base):  # type: ignore[valid-type, misc]
        def log_request(self, *args: Any, **kwargs: Any) -> None:
            pass

    app = werkzeug_app.DomainDispatcherApplication(werkzeug_app.create_backend_app)
    return make_server("127.0.0.1", 0, app, threaded=True, request_handler=QuietHandler)


class ExternalBackend(AwsBackend):
    """An endpoint someone else runs. A loopback URL is relayed so that the
    containers reach it; any other URL is given to them unchanged."""

    def __init__(self, engine: DockerEngine, endpoint_url: str, region: str) -> None:
        parsed = urlparse(endpoint_url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ConfigError(
                f"invalid AWS endpoint {endpoint_url!r}: give a URL such as http://localhost:4566 (lambda_aws)"
            )
        function_url = endpoint_url
        relay = None
        if is_loopback(parsed.hostname):
            port = parsed.port or (443 if parsed.scheme == "https" else 80)
            relay = _relay_for_containers(
                engine,
                ("127.0.0.1", port),
                f"the AWS endpoint {endpoint_url}",
                "Give an address the engine's containers reach instead (lambda_aws = http://HOST:PORT)",
            )
            function_url = urlunparse(parsed._replace(netloc=f"{relay.address[0]}:{relay.port}"))
        super().__init__(endpoint_url.rstrip("/"), function_url.rstrip("/"), region)
        if relay is not None:
            self._relays.append(relay)


MOTO_SERVERS = ("auto", "process", "container")
DEFAULT_MOTO_IMAGE = "motoserver/moto:latest"


def start_backend(
    engine: DockerEngine,
    setting: str | None,
    region: str,
    *,
    server: str = "auto",
    image: str = DEFAULT_MOTO_IMAGE,
    pull: PullPolicy = "missing",
) -> AwsBackend:
    """The backend `setting` names: None or "moto" for moto's server, else
    the URL of an endpoint to use instead.

    moto runs in this process when the engine shares this machine's network
    (`server = "process"`: nothing to pull, the tests' own moto version), else
    in a container on a network of its own that the functions join
    (`"container"`, from `image`): the only way a remote engine's containers
    reach it."""
    if setting not in (None, "", "moto"):
        return ExternalBackend(engine, setting, region)
    if server not in MOTO_SERVERS:
        raise ConfigError(f"invalid lambda_aws_server {server!r}: use {', '.join(MOTO_SERVERS)}")
    if server == "process" or (server == "auto" and bridge_host_address(engine) is not None):
        return MotoBackend(engine, region)
    from .moto_container import MotoContainerBackend

    return MotoContainerBackend(engine, region, image, pull)


def is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def bridge_host_address(engine: DockerEngine) -> str | None:
    """This machine's address on Docker's default bridge (what `host-gateway`
    resolves to), if the engine runs here and the address is ours to listen
    on; None for a remote engine or one in a VM (Docker Desktop, rootless)."""
    if engine.host_address != "127.0.0.1":
        return None
    with docker_errors("reading the bridge network"):
        attrs = engine.client.api.inspect_network("bridge")
    for config in (attrs.get("IPAM") or {}).get("Config") or []:
        gateway = config.get("Gateway")
        if not gateway and config.get("Subnet"):
            with contextlib.suppress(ValueError):
                # Docker gives the bridge the subnet's first address unless told otherwise.
                gateway = str(next(ipaddress.ip_network(config["Subnet"], strict=False).hosts()))
        if gateway and _can_listen(gateway):
            return str(gateway)
    return None


def _can_listen(address: str) -> bool:
    try:
        with socket.create_server((address, 0)):
            return True
    except (OSError, ValueError):
        return False


def _relay_for_containers(engine: DockerEngine, target: tuple[str, int], what: str, hint: str) -> TcpRelay:
    address = bridge_host_address(engine)
    if address is None:
        raise ConfigError(
            f"function containers cannot reach {what} on this machine's loopback: the Docker engine at "
            f"{engine.host_address} does not share its network (a remote engine, Docker Desktop or rootless "
            f"Docker). {hint}"
        )
    return TcpRelay(address, target)


def _import_boto3() -> Any:
    try:
        import boto3
    except ImportError:
        raise ConfigError(f"AWS clients need boto3: {INSTALL_HINT}") from None
    return boto3
