"""The Docker engine connection: one client per session and where published
ports can be reached from this process."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from urllib.parse import urlparse

import docker
import docker.errors
import requests.exceptions

from .errors import DockerUnavailableError, LambdaImageError


class DockerEngine:
    """A connected Docker client plus the facts the plugin needs about it."""

    def __init__(
        self,
        client: docker.DockerClient,
        *,
        host_address: str | None = None,
        shares_filesystem: bool | None = None,
    ) -> None:
        self.client = client
        #: where ports this daemon publishes are reached from here
        self.host_address = host_address or docker_host_address(os.environ.get("DOCKER_HOST"))
        #: whether the daemon can bind-mount this machine's files
        self.shares_filesystem = self.host_address == "127.0.0.1" if shares_filesystem is None else shares_filesystem

    @classmethod
    def connect(cls, timeout: int = 60) -> DockerEngine:
        where = describe_docker_host()
        try:
            client = docker.from_env(timeout=timeout)
            client.ping()
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
            raise DockerUnavailableError(
                f"no Docker daemon at {where}: start Docker or set DOCKER_HOST ({short_reason(exc)})"
            ) from None
        return cls(client)

    def close(self) -> None:
        self.client.close()


def describe_docker_host() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


def docker_host_address(docker_host: str | None) -> str:
    """Where published ports live: loopback for a local socket, else the
    daemon's own host (ports are published on *that* machine)."""
    if not docker_host:
        return "127.0.0.1"
    parsed = urlparse(docker_host)
    if parsed.scheme in ("unix", "npipe", "") or not parsed.hostname:
        return "127.0.0.1"
    if parsed.hostname in ("localhost", "::1"):
        return "127.0.0.1"
    return parsed.hostname


def short_reason(exc: BaseException) -> str:
    """The last, most specific line of a docker SDK / urllib3 error chain."""
    if isinstance(exc, docker.errors.APIError) and exc.explanation:
        text = str(exc.explanation)
    else:
        text = str(exc)
    text = text.strip().splitlines()[-1] if text.strip() else type(exc).__name__
    return text if len(text) <= 300 else text[:297] + "..."


@contextlib.contextmanager
def docker_errors(action: str) -> Iterator[None]:
    """Turn docker SDK errors raised while doing `action` into one-line plugin errors."""
    try:
        yield
    except LambdaImageError:
        raise
    except (requests.exceptions.RequestException, docker.errors.DockerException) as exc:
        if isinstance(exc, requests.exceptions.ConnectionError) or "Connection" in type(exc).__name__:
            raise DockerUnavailableError(
                f"lost the Docker daemon at {describe_docker_host()} while {action}: {short_reason(exc)}"
            ) from None
        raise LambdaImageError(f"Docker failed while {action}: {short_reason(exc)}") from None
