"""testcontainers' DockerContainer interface, on a Lambda function.

`LambdaFunction` is a `DockerContainer`, so it goes where testcontainers'
containers go, but it never runs testcontainers' own constructor (which
makes a second Docker client, may log in to a registry and rewrites
DOCKER_HOST for the whole process) and never touches its private fields.
Every public method of DockerContainer is defined here or in function.py:
honoured where it means something for a Lambda function, refused with a
clear error where it does not. A unit test checks that none is left to the
base class, so a new testcontainers release that adds one fails CI."""

from __future__ import annotations

import io
import os
import tarfile
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import docker.errors
import requests
from typing_extensions import Self

from ..errors import ConfigError, FunctionStartError, LambdaImageError
from .engine import docker_errors
from .rie import RIE_PORT

if TYPE_CHECKING:
    from .engine import DockerEngine
    from .settings import FunctionConfig



class ContainerApi:
    """Builders and accessors; function.py's LambdaFunction holds the state."""

    # State the builders fill in (set by LambdaFunction.__init__).
    config: FunctionConfig
    _container: Any
    _engine: DockerEngine | None
    _create_kwargs: dict[str, Any]
    _mounts: dict[str, dict[str, str]]
    _tmpfs_mounts: dict[str, str]
    _extra_ports: dict[str, Any]
    _container_name: str | None
    _network_name: str | None
    _network_aliases: list[str]
    _command_override: list[str] | None

    # -- testcontainers' public attributes, as read-only views -------------------
    # DockerContainer's own are plain dicts a caller may write; here every
    # setting is checked when it is made, so they change through the builders.
    @property
    def env(self) -> Mapping[str, str]:
        """The function's variables (set with with_env / with_envs)."""
        return MappingProxyType(dict(self.config.env))

    @property
    def ports(self) -> Mapping[str, Any]:
        """Extra ports to publish, container port -> host port or None (with_exposed_ports / with_bind_ports)."""
        return MappingProxyType(dict(self._extra_ports))

    @property
    def volumes(self) -> Mapping[str, Mapping[str, str]]:
        """Host paths mounted into the container (with_volume_mapping)."""
        return MappingProxyType({host: dict(mount) for host, mount in self._mounts.items()})

    @property
    def tmpfs(self) -> Mapping[str, str]:
        """tmpfs mounts besides Lambda's /tmp (with_tmpfs_mount)."""
        return MappingProxyType(dict(self._tmpfs_mounts))

    # -- lifecycle (start/stop are LambdaFunction's) ------------------------------
    def __enter__(self) -> Self:
        return self.start()  # type: ignore[attr-defined]

    def __exit__(self, *exc: object) -> None:
        self.stop()  # type: ignore[attr-defined]

    # -- builders, honoured --------------------------------------------------------
    def with_env(self, key: str, value: str) -> Self:
        """An environment variable, checked like every other setting (names, reserved, 4 KB)."""
        self.config = self.config.replace(env={key: value})
        return self

    def with_envs(self, **variables: str) -> Self:
        self.config = self.config.replace(env=variables)
        return self

    def with_env_file(self, env_file: str | os.PathLike[str]) -> Self:
        """KEY=VALUE lines (comments, blank lines, `export ` and quotes allowed)."""
        variables = {}
        for raw in Path(env_file).read_text().splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            key, sep, value = line.removeprefix("export ").partition("=")
            if not sep:
                raise ConfigError(f"invalid line {raw!r} in {env_file}: write KEY=VALUE")
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
                value = value[1:-1]
            variables[key.strip()] = value
        return self.with_envs(**variables)

    def with_command(self, command: str | list[str]) -> Self:
        """Lambda's ImageConfig Command: replaces the image's CMD (for AWS base
        images, the handler). A `handler` setting wins over it."""
        self._command_override = command.split() if isinstance(command, str) else [str(c) for c in command]
        return self

    def with_kwargs(self, **kwargs: Any) -> Self:
        """Extra arguments for docker's `containers.create`; they win over the
        sandbox's own (e.g. `user=...`, `mem_limit=...`)."""
        self._create_kwargs.update(kwargs)
        return self

    def with_name(self, name: str) -> Self:
        self._container_name = name
        return self

    def with_network(self, network: Any) -> Self:
        """A network to join: a testcontainers `Network`, a docker SDK network or its name."""
        self._network_name = network if isinstance(network, str) else network.name
        return self

    def with_network_aliases(self, *aliases: str) -> Self:
        self._network_aliases = list(aliases)
        return self

    def with_volume_mapping(self, host: str | os.PathLike[str], container: str, mode: str = "ro") -> Self:
        self._mounts[str(host)] = {"bind": container, "mode": mode}
        return self

    def with_tmpfs_mount(self, container_path: str, size: str | None = None) -> Self:
        """A tmpfs (also writable under fidelity's read-only root)."""
        self._tmpfs_mounts[container_path] = f"size={size}" if size else ""
        return self

    def with_exposed_ports(self, *ports: int | str) -> Self:
        """More ports to publish (an extension's or a debugger's); reach them with `get_exposed_port`."""
        for port in ports:
            self.with_bind_ports(port)
        return self

    def with_bind_ports(self, container: int | str, host: int | str | None = None) -> Self:
        key = str(container) if "/" in str(container) else f"{container}/tcp"
        if key == f"{RIE_PORT}/tcp":
            raise ConfigError(f"port {RIE_PORT} is the RIE's: the plugin publishes it itself")
        self._extra_ports[key] = int(host) if host is not None else None
        return self

    def maybe_emulate_amd64(self) -> Self:
        """Nothing to do: the function always runs as its image's architecture
        (emulated when the host's differs), as Lambda runs it."""
        return self

    # -- builders that do not apply: refused rather than ignored ----------------
    def waiting_for(self, strategy: Any) -> Self:
        raise ConfigError(
            "LambdaFunction waits for the RIE to listen itself and the runtime starts at the first invoke: "
            "no wait strategy applies (check readiness with an invoke)"
        )

    def with_copy_into_container(self, transferable: Any, destination_in_container: str, mode: int = 0o644) -> Self:
        raise ConfigError(
            "files cannot be copied into a Lambda function's read-only root filesystem: bake them into the image, "
            "or mount them with with_volume_mapping"
        )

    # -- accessors ------------------------------------------------------------------
    def _running(self) -> Any:
        if self._container is None:
            raise FunctionStartError("the function is not started: call start() or use it as a context manager")
        return self._container

    def get_wrapped_container(self) -> Any:
        """The docker SDK `Container` (None before start)."""
        return self._container

    def get_container_id(self) -> str:
        return str(self._running().id)

    def get_docker_client(self) -> Any:
        """The docker SDK client the function was started with."""
        if self._engine is None:
            raise FunctionStartError("the function is not started: call start() or use it as a context manager")
        return self._engine.client

    def get_container_host_ip(self) -> str:
        """Where the function's published ports are reached from here."""
        if self._engine is None:
            raise FunctionStartError("the function is not started: call start() or use it as a context manager")
        return self._engine.host_address

    def get_exposed_port(self, port: int | str) -> int:
        """The host port a container port is published on (8080: the RIE's)."""
        container = self._running()
        key = str(port) if "/" in str(port) else f"{port}/tcp"
        with docker_errors("reading the published ports"):
            container.reload()
        published = (container.ports or {}).get(key)
        if not published:
            raise LambdaImageError(f"port {port} is not published: publish it with with_exposed_ports({port})")
        return int(published[0]["HostPort"])

    def get_container_info(self) -> dict[str, Any]:
        """`docker inspect` of the container (a dict, not testcontainers' dataclass)."""
        container = self._running()
        with docker_errors("inspecting the container"):
            container.reload()
        return dict(container.attrs)

    def get_logs(self) -> tuple[bytes, bytes]:
        """The container's whole stdout and stderr."""
        container = self._running()
        with docker_errors("reading the container's log"):
            return container.logs(stdout=True, stderr=False), container.logs(stdout=False, stderr=True)

    @property
    def status(self) -> str:
        if self._container is None:
            return "not_started"
        try:
            self._container.reload()
        except docker.errors.NotFound:
            return "removed"
        except (docker.errors.DockerException, requests.exceptions.RequestException):
            return "unknown"
        return str(self._container.status)

    def reload(self) -> None:
        with docker_errors("reading the container's state"):
            self._running().reload()

    def exec(self, command: str | list[str]) -> Any:
        """Run a command in the running container (docker's ExecResult:
        `.exit_code`, `.output`), as the function's user."""
        container = self._running()
        with docker_errors("running a command in the container"):
            return container.exec_run(command, user=self.config.user if self.config.fidelity else "")

    def wait(self) -> int:
        """Wait for the container to exit; its exit code."""
        container = self._running()
        with docker_errors("waiting for the container"):
            return int(container.wait()["StatusCode"])

    def copy_from_container(self, source_in_container: str, destination_on_host: Path) -> None:
        """One file out of the container (e.g. what the function wrote to /tmp)."""
        container = self._running()
        with docker_errors(f"copying {source_in_container} out of the container"):
            stream, _ = container.get_archive(source_in_container)
            data = b"".join(stream)
        with tarfile.open(fileobj=io.BytesIO(data)) as archive:
            member = next((m for m in archive.getmembers() if m.isfile()), None)
            if member is None:
                raise LambdaImageError(f"{source_in_container} is not a file in the container")
            extracted = archive.extractfile(member)
            assert extracted is not None
            Path(destination_on_host).write_bytes(extracted.read())

    def copy_into_container(self, transferable: Any, destination_in_container: str, mode: int = 0o644) -> None:
        raise ConfigError(
            "files cannot be copied into a Lambda function's container: its root filesystem is read-only and "
            "/tmp starts empty, as on Lambda; mount a directory with with_volume_mapping"
        )
