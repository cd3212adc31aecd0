"""A TCP relay that lets function containers reach a server listening on this
machine's loopback: it listens on the Docker bridge's host address (the one
`host-gateway` names) and copies bytes both ways. Loopback stays the only
address the server itself listens on."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading

_CHUNK = 65536


class TcpRelay:
    """Forwards every connection made to `listen_host:<port>` to `target`.

    One thread serves every connection with non-blocking sockets: a side is
    read only while what it sent before has been written to its peer, so a
    slow reader slows its writer instead of freezing the relay or filling
    memory, and an EOF is passed on as a half-close."""

    def __init__(self, listen_host: str, target: tuple[str, int]) -> None:
        self.target = target
        self._listener = socket.create_server((listen_host, 0))
        self._listener.setblocking(False)
        self.address: tuple[str, int] = self._listener.getsockname()[:2]
        self._wake_read, self._wake_write = socket.socketpair()
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        self._selector.register(self._wake_read, selectors.EVENT_READ)
        self._peers: dict[socket.socket, socket.socket] = {}
        self._pending: dict[socket.socket, bytes] = {}  # bytes still to write to this socket
        self._eof: set[socket.socket] = set()  # sides that sent EOF
        self._stopped = False
        self._thread = threading.Thread(target=self._serve, name=f"pytest-lambda-relay-{self.address[1]}", daemon=True)
        self._thread.start()

    @property
    def port(self) -> int:
        return self.address[1]

    def _serve(self) -> None:
        while not self._stopped:
            for key, events in self._selector.select():
                sock = key.fileobj
                if sock is self._wake_read:
                    return
                if sock is self._listener:
                    self._accept()
                    continue
                assert isinstance(sock, socket.socket)
                if sock not in self._peers:
                    continue  # dropped earlier in this round
                if events & selectors.EVENT_WRITE:
                    self._flush(sock)
                if events & selectors.EVENT_READ and sock in self._peers:
                    self._read(sock)

    def _accept(self) -> None:
        try:
            client, _ = self._listener.accept()
        except OSError:
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            client.close()  # the client sees a closed connection, as if nothing listened
            return
        for sock in (client, upstream):
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            self._pending[sock] = b""
        self._peers[client], self._peers[upstream] = upstream, client
        self._selector.register(client, selectors.EVENT_READ)
        self._selector.register(upstream, selectors.EVENT_READ)

    def _read(self, sock: socket.socket) -> None:
        peer = self._peers[sock]
        try:
            data = sock.recv(_CHUNK)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            self._drop(sock)
            return
        if data:
            self._pending[peer] += data
            self._flush(peer)
            return
        self._eof.add(sock)
        self._watch(sock)
        if not self._pending[peer]:
            with contextlib.suppress(OSError):
                peer.shutdown(socket.SHUT_WR)
        if peer in self._eof and not self._pending[sock] and not self._pending[peer]:
            self._drop(sock)

    def _flush(self, sock: socket.socket) -> None:
        data = self._pending[sock]
        if data:
            try:
                sent = sock.send(data)
            except (BlockingIOError, InterruptedError):
                sent = 0
            except OSError:
                self._drop(sock)
                return
            self._pending[sock] = data = data[sent:]
        peer = self._peers[sock]
        if not data and peer in self._eof:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_WR)  # the peer's EOF, now that its bytes are through
            if sock in self._eof:
                self._drop(sock)
                return
        self._watch(sock)
        self._watch(peer)

    def _watch(self, sock: socket.socket) -> None:
        """Read a side only while its peer has nothing left to write; wait
        for writability while it has."""
        peer = self._peers[sock]
        events = 0
        if sock not in self._eof and not self._pending[peer]:
            events |= selectors.EVENT_READ
        if self._pending[sock]:
            events |= selectors.EVENT_WRITE
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(sock)
        if events:
            self._selector.register(sock, events)

    def _drop(self, sock: socket.socket) -> None:
        peer = self._peers.pop(sock, None)
        for item in (sock, peer):
            if item is None:
                continue
            self._peers.pop(item, None)
            self._pending.pop(item, None)
            self._eof.discard(item)
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(item)
            item.close()

    def close(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        with contextlib.suppress(OSError):
            self._wake_write.send(b"x")
        self._thread.join(timeout=5)
        for sock in list(self._peers):
            self._drop(sock)
        for sock in (self._listener, self._wake_read, self._wake_write):
            sock.close()
        self._selector.close()
