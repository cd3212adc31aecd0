"""A minimal Debug Adapter Protocol client over a socket (the wire format:
`Content-Length: N` header, blank line, N bytes of JSON), enough to attach,
set a breakpoint, read a frame's variables and continue."""

from __future__ import annotations

import json
import socket
import time
from typing import Any


class DapClient:
    """Connects and sends `initialize`, again until the adapter answers:
    Docker's published port accepts (then drops) connections before the
    runtime, and debugpy in it, has started."""

    def __init__(self, host: str, port: int, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            self._buffer = b""
            self._seq = 0
            self.events: list[dict[str, Any]] = []
            try:
                self._sock = socket.create_connection((host, port), timeout=2)
                self._sock.settimeout(timeout)
                self.capabilities = self.request(
                    "initialize", adapterID="debugpy", clientID="pytest", linesStartAt1=True, pathFormat="path"
                ).get("body", {})
                return
            except OSError:
                self._sock.close() if hasattr(self, "_sock") else None
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def close(self) -> None:
        self._sock.close()

    def send(self, command: str, **arguments: Any) -> int:
        self._seq += 1
        body = json.dumps({"seq": self._seq, "type": "request", "command": command, "arguments": arguments}).encode()
        self._sock.sendall(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        return self._seq

    def request(self, command: str, **arguments: Any) -> dict[str, Any]:
        seq = self.send(command, **arguments)
        return self.response(seq)

    def response(self, seq: int) -> dict[str, Any]:
        while True:
            message = self._read()
            if message["type"] == "response" and message["request_seq"] == seq:
                if not message.get("success"):
                    raise AssertionError(f"{message['command']} failed: {message.get('message')}")
                return message
            if message["type"] == "event":
                self.events.append(message)

    def event(self, name: str) -> dict[str, Any]:
        for index, message in enumerate(self.events):
            if message["event"] == name:
                return self.events.pop(index)
        while True:
            message = self._read()
            if message["type"] == "event":
                if message["event"] == name:
                    return message
                self.events.append(message)

    def _read(self) -> dict[str, Any]:
        while b"\r\n\r\n" not in self._buffer:
            self._fill()
        head, self._buffer = self._buffer.split(b"\r\n\r\n", 1)
        lines = head.split(b"\r\n")
        length = next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length"))
        while len(self._buffer) < length:
            self._fill()
        body, self._buffer = self._buffer[:length], self._buffer[length:]
        return json.loads(body)

    def _fill(self) -> None:
        chunk = self._sock.recv(65536)
        if not chunk:
            raise ConnectionError("the debug adapter closed the connection")
        self._buffer += chunk
