"""The waiting half of Node.js debugging: under `--inspect-wait` a runtime
(started at the first invoke, and again after each reset) waits for a
debugger before running any code. `Releaser` gives the user `wait_s` to
attach; then it lets the runtime run by itself, over the inspector's own
protocol (a WebSocket carrying `Runtime.runIfWaitingForDebugger`, what a
debugger sends when it is ready). The inspector takes several sessions, so
this never stands in the way of the user's."""

from __future__ import annotations

import base64
import http.client
import json
import os
import socket
import struct
import threading
import time
from collections.abc import Callable

POLL_S = 0.2


class Releaser:
    """Follows the inspector at host:port while `alive()` says the function
    runs; each runtime process seen waiting is released after `wait_s`."""

    def __init__(
        self, host: str, port: int, wait_s: float, alive: Callable[[], bool], announce: Callable[[str], None]
    ) -> None:
        self._host, self._port, self._wait_s = host, port, wait_s
        self._alive, self._announce = alive, announce
        self._seen: set[str] = set()
        self._thread = threading.Thread(target=self._run, name="node-inspector-releaser", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        checked = time.monotonic()
        while True:
            time.sleep(POLL_S)
            if time.monotonic() - checked > 2.0:  # the container lookup is costly: not every poll
                if not self._alive():
                    return
                checked = time.monotonic()
            for target in self._targets():
                if target["id"] not in self._seen:
                    self._seen.add(target["id"])
                    threading.Thread(target=self._release_later, args=(target,), daemon=True).start()

    def _targets(self) -> list[dict[str, str]]:
        connection = http.client.HTTPConnection(self._host, self._port, timeout=2)
        try:
            connection.request("GET", "/json/list")
            found = json.loads(connection.getresponse().read())
            return [t for t in found if isinstance(t, dict) and t.get("id") and t.get("webSocketDebuggerUrl")]
        except (OSError, ValueError, http.client.HTTPException):
            return []  # no runtime yet (it starts at the first invoke), or between two
        finally:
            connection.close()

    def _release_later(self, target: dict[str, str]) -> None:
        time.sleep(self._wait_s)
        path = "/" + target["webSocketDebuggerUrl"].split("/", 3)[-1]
        try:
            send_once(self._host, self._port, path, "Runtime.runIfWaitingForDebugger")
        except OSError:
            return  # the runtime is gone (reset, stopped): nothing waits
        self._announce(f"lambda debug: no debugger came within {self._wait_s:.0f} s; the Node.js runtime runs on")


def send_once(host: str, port: int, path: str, method: str, timeout: float = 5.0) -> None:
    """Open a WebSocket session at `path`, send one CDP call and wait for its answer."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = sock.recv(4096)
            if not chunk:
                raise ConnectionError("the inspector closed the connection")
            received += chunk
        if b" 101 " not in received.split(b"\r\n", 1)[0]:
            raise ConnectionError("the inspector refused the WebSocket upgrade")
        payload = json.dumps({"id": 1, "method": method}).encode()
        mask = os.urandom(4)
        # A client's frames are masked (RFC 6455); the payload is always under 126 bytes here.
        sock.sendall(
            struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        )
        deadline = time.monotonic() + timeout
        while b'"id":1' not in received and time.monotonic() < deadline:
            chunk = sock.recv(4096)
            if not chunk:
                break
            received += chunk
