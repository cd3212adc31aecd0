"""The container's stderr, attached through the engine's API: the stream
rapid_log.py reads the RIE's debug lines from. Kept apart from the parsing so
that what only reads results (invocation.py, the gateway) needs no docker."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterable
from typing import Any

from .rapid_log import payloads


def attach_stderr(client: Any, container_id: str) -> tuple[Iterable[bytes], Callable[[], None]]:
    """The container's stderr from now on, as raw chunks, with no read timeout
    (an idle function writes nothing for as long as a test likes)."""
    api = client.api
    response = api._post(
        api._url("/containers/{0}/attach", container_id),
        headers={"Connection": "Upgrade", "Upgrade": "tcp"},
        params={"stdout": 0, "stderr": 1, "stream": 1, "logs": 0},
        stream=True,
    )
    api._raise_for_status(response)
    sock = api._get_raw_response_socket(response)
    api._disable_socket_timeout(sock)

    def close() -> None:
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except (AttributeError, OSError):
            pass
        finally:
            response.close()

    raw = getattr(sock, "_sock", sock)  # a unix socket comes wrapped in socket.SocketIO
    if hasattr(raw, "recv"):
        return payloads(raw.recv), close
    from docker.utils.socket import frames_iter  # ssh and npipe transports: docker's own reader

    return (data for _, data in frames_iter(sock, tty=False)), close
