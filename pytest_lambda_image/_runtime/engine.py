"""The Docker engine connection: one client per session and where published
ports can be reached from this process."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import docker
import docker.errors
import requests.exceptions

from ..errors import DockerUnavailableError, LambdaImageError
from .remote import SshBridge, SshTarget, explain, resolve


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
        self.host_address = host_address or docker_host_address(chosen_docker_host()[0])
        #: whether the daemon can bind-mount this machine's files
        self.shares_filesystem = self.host_address == "127.0.0.1" if shares_filesystem is None else shares_filesystem
        self._ssh: SshBridge | None = None
        self._ssh_address: tuple[str, int] | None = None  # the sshd a ssh:// engine is reached through

    @classmethod
    def connect(cls, timeout: int = 60) -> DockerEngine:
        where = describe_docker_host()
        try:
            host, context = chosen_docker_host()
            if host and host.startswith("ssh://"):
                return cls._connect_ssh(SshTarget.parse(host), timeout)
            if context is None:
                client = docker.from_env(timeout=timeout)
            else:  # docker-py reads contexts only from 7.2 on, and misses a DOCKER_CONFIG without config.json
                client = docker.DockerClient(base_url=host, tls=context.tls, timeout=timeout)
            client.ping()
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
            raise DockerUnavailableError(
                f"no Docker daemon at {where}: start Docker or set DOCKER_HOST ({short_reason(exc)})"
            ) from None
        return cls(client)

    @classmethod
    def _connect_ssh(cls, target: SshTarget, timeout: int) -> DockerEngine:
        address, port = resolve(target)
        bridge = SshBridge(target)
        try:  # the client asks the engine's API version as it is made
            client = docker.DockerClient(base_url=bridge.base_url, timeout=timeout)
            client.ping()
        except (docker.errors.DockerException, requests.exceptions.RequestException, OSError) as exc:
            said = bridge.wait_for_error()
            bridge.close()
            if said:
                raise DockerUnavailableError(explain(target, said, port)) from None
            raise DockerUnavailableError(
                f"no Docker daemon at {describe_docker_host()} (over ssh): {short_reason(exc)}"
            ) from None
        engine = cls(client, host_address=docker_host_address(f"ssh://{_bracketed(address)}"))
        engine._ssh, engine._ssh_address = bridge, (address, port)
        return engine

    def close(self) -> None:
        self.client.close()
        if self._ssh is not None:
            self._ssh.close()

    def unreachable(self, timeout: float = 2.0) -> str | None:
        """Why the engine cannot be reached right now, or None. A plain
        connect with a short timeout: the client's own calls wait up to a
        minute on a host that has gone away."""
        base = urlparse(self.client.api.base_url)
        try:
            if self._ssh_address is not None:  # the host's sshd (the engine's own socket is not ours to probe)
                socket.create_connection(self._ssh_address, timeout=timeout).close()
            elif base.scheme in ("http+unix", "http+docker") or base.hostname in (None, "localhost"):
                path = urlparse(chosen_docker_host()[0] or "unix:///var/run/docker.sock").path
                if not path:
                    return None
                with socket.socket(socket.AF_UNIX) as probe:
                    probe.settimeout(timeout)
                    probe.connect(path)
            else:
                socket.create_connection((base.hostname, base.port or 2375), timeout=timeout).close()
        except (OSError, ValueError, DockerUnavailableError) as exc:
            return f"{type(exc).__name__}: {exc}"
        return None


@dataclass(frozen=True)
class DockerContext:
    """A docker CLI context: its name, endpoint and TLS material."""

    name: str
    host: str
    tls: Any = False  # a docker.tls.TLSConfig when the context has certificates


def chosen_docker_host() -> tuple[str | None, DockerContext | None]:
    """The engine the docker CLI would talk to: DOCKER_HOST, else the context
    DOCKER_CONTEXT names, else the current context of the docker config
    (DOCKER_CONFIG or ~/.docker). (None, None): the local default socket."""
    if os.environ.get("DOCKER_HOST"):
        return os.environ["DOCKER_HOST"], None
    config_dir = Path(os.environ.get("DOCKER_CONFIG") or Path.home() / ".docker")
    name = os.environ.get("DOCKER_CONTEXT")
    if not name:
        with contextlib.suppress(OSError, ValueError):
            name = json.loads((config_dir / "config.json").read_text()).get("currentContext")
    if not name or name == "default":
        return None, None
    context = _load_context(config_dir, name)
    if context is None:
        source = "DOCKER_CONTEXT" if os.environ.get("DOCKER_CONTEXT") else f"{config_dir}/config.json"
        raise DockerUnavailableError(
            f"docker context {name!r} (from {source}) does not exist in {config_dir}/contexts: create it with "
            "`docker context create`, or unset it"
        )
    return context.host, context


def _load_context(config_dir: Path, name: str) -> DockerContext | None:
    # Where the docker CLI keeps a context: contexts/meta/<sha256 of its name>/meta.json,
    # its certificates under contexts/tls/<same>/docker/.
    digest = hashlib.sha256(name.encode()).hexdigest()
    try:
        meta = json.loads((config_dir / "contexts" / "meta" / digest / "meta.json").read_text())
    except (OSError, ValueError):
        return None
    endpoint = (meta.get("Endpoints") or {}).get("docker") or {}
    host = endpoint.get("Host")
    if not host:
        return None
    tls: Any = False
    certs = config_dir / "contexts" / "tls" / digest / "docker"
    if certs.is_dir():
        import docker.tls

        ca, cert, key = (certs / "ca.pem", certs / "cert.pem", certs / "key.pem")
        tls = docker.tls.TLSConfig(
            client_cert=(str(cert), str(key)) if cert.exists() and key.exists() else None,
            ca_cert=str(ca) if ca.exists() else None,
            verify=not endpoint.get("SkipTLSVerify", False),
        )
    return DockerContext(name, host, tls)


def describe_docker_host() -> str:
    try:
        host, context = chosen_docker_host()
    except DockerUnavailableError:
        host, context = None, None
    if context is not None:
        return f"{host} (docker context {context.name})"
    return host or "unix:///var/run/docker.sock"


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


def _bracketed(address: str) -> str:
    return f"[{address}]" if ":" in address else address


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
