"""moto's server in a container, for engines whose containers cannot reach
this machine (a remote DOCKER_HOST, Docker Desktop, rootless Docker): it
runs on a network of its own that the function containers join, and the
tests reach it through a published port, as they reach the functions."""

from __future__ import annotations

import contextlib
import os
import time
from typing import Any

import docker.errors
import requests

from .._runtime import cleanup
from .._runtime.engine import DockerEngine, docker_errors
from .._runtime.image import get_image
from .._runtime.settings import PullPolicy
from ..errors import LambdaImageError
from .backend import ResettableMoto

MOTO_PORT = 5000  # motoserver/moto's
START_TIMEOUT_S = 60.0
ROLE_LABEL = "pytest-lambda-image.role"


class MotoContainerBackend(ResettableMoto):
    """`image` must serve moto on port 5000, as motoserver/moto does."""

    def __init__(self, engine: DockerEngine, region: str, image: str, pull: PullPolicy = "missing") -> None:
        self._client = engine.client
        self._container: Any = None
        self._network: Any = None
        found = get_image(engine, image, pull)
        labels = cleanup.container_labels({ROLE_LABEL: "aws"})
        name = f"pytest-lambda-aws-{cleanup.SESSION_ID[:12]}-{os.getpid()}"
        # A remote daemon publishes on its own interfaces; a local one on loopback only.
        binding = ("127.0.0.1", None) if engine.host_address == "127.0.0.1" else None
        try:
            with docker_errors("creating the AWS backend's network"):
                self._network = self._client.networks.create(name, driver="bridge", labels=labels)
            with docker_errors(f"starting moto's server from {image}"):
                self._container = self._client.containers.create(
                    found.id,
                    detach=True,
                    network=name,
                    ports={f"{MOTO_PORT}/tcp": binding},
                    labels=labels,
                    name=name,
                )
                cleanup.track(self._container.id, self._client)
                self._container.start()
                self._container.reload()
            published = (self._container.ports.get(f"{MOTO_PORT}/tcp") or [{}])[0].get("HostPort")
            address = self._container.attrs["NetworkSettings"]["Networks"][name]["IPAddress"]
            if not published or not address:
                raise LambdaImageError(f"moto's container from {image} exited at once:\n{self._log_tail()}")
            super().__init__(f"http://{engine.host_address}:{published}", f"http://{address}:{MOTO_PORT}", region)
            self.network = name
            self._wait_until_serving(image)
        except BaseException:
            self._remove()
            raise

    def _wait_until_serving(self, image: str) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            try:
                self._http.get(f"{self.endpoint_url}/moto-api/", timeout=2)
                return
            except requests.RequestException:
                pass
            with docker_errors("watching moto's container"):
                self._container.reload()
            if self._container.status not in ("running", "created"):
                raise LambdaImageError(
                    f"moto's container from {image} exited with code "
                    f"{self._container.attrs['State'].get('ExitCode')}; does it serve moto on port {MOTO_PORT}? "
                    f"log:\n{self._log_tail()}"
                )
            if time.monotonic() > deadline:
                raise LambdaImageError(
                    f"moto's container from {image} did not answer on port {MOTO_PORT} within "
                    f"{START_TIMEOUT_S:.0f} s; log:\n{self._log_tail()}"
                )
            time.sleep(0.05)

    def _log_tail(self) -> str:
        with contextlib.suppress(Exception):
            return self._container.logs(tail=20).decode("utf-8", "replace")
        return "(no log)"

    def _remove(self) -> None:
        if self._container is not None:
            cleanup.remove_container(self._client, self._container.id)
            self._container = None
        if self._network is not None:
            with contextlib.suppress(docker.errors.DockerException, requests.RequestException):
                self._network.remove()
            self._network = None

    def close(self) -> None:
        super().close()
        self._remove()
