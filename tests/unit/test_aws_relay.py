"""The relay that lets containers reach a loopback server, and the address
rules of the AWS backend (no Docker needed)."""

from __future__ import annotations

import socket
import threading

import pytest

from pytest_lambda_image.aws.backend import FAKE_CREDENTIALS, AwsBackend, is_loopback
from pytest_lambda_image.aws.relay import TcpRelay


@pytest.fixture
def echo_server():
    """A loopback server that reads a request to its end and answers it upper-cased."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        server.settimeout(0.1)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            threading.Thread(target=handle, args=(conn,), daemon=True).start()

    def handle(conn):
        with conn:
            chunks = []
            while data := conn.recv(65536):
                chunks.append(data)
            conn.sendall(b"".join(chunks).upper())

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()[:2]
    stop.set()
    thread.join()
    server.close()


def roundtrip(address, payload: bytes) -> bytes:
    chunks = []
    with socket.create_connection(address, timeout=5) as conn:
        try:
            conn.sendall(payload)
            conn.shutdown(socket.SHUT_WR)
            while data := conn.recv(65536):
                chunks.append(data)
        except OSError:  # the relay closed it (nothing behind it): reset, broken pipe, not connected
            pass
    return b"".join(chunks)


def test_relay_copies_both_ways_for_many_connections(echo_server):
    relay = TcpRelay("127.0.0.1", echo_server)
    try:
        big = b"x" * 20_000_000  # more than the kernel buffers: the relay must not stall
        assert roundtrip(relay.address, b"hello") == b"HELLO"
        assert roundtrip(relay.address, big) == big.upper()
        results = []
        threads = [
            threading.Thread(target=lambda i=i: results.append(roundtrip(relay.address, f"c{i}".encode())))
            for i in range(20)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(results) == sorted(f"C{i}".encode() for i in range(20))
    finally:
        relay.close()
    with pytest.raises(OSError):
        socket.create_connection(relay.address, timeout=1)


def test_relay_to_nothing_closes_the_clients_connection():
    with socket.create_server(("127.0.0.1", 0)) as probe:
        dead = probe.getsockname()[:2]
    relay = TcpRelay("127.0.0.1", dead)
    try:
        assert roundtrip(relay.address, b"anyone?") == b""
    finally:
        relay.close()


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("localhost", True),
        ("127.0.0.1", True),
        ("127.5.5.5", True),
        ("::1", True),
        ("[::1]", True),
        ("172.17.0.1", False),
        ("localstack", False),
        ("example.org", False),
    ],
)
def test_loopback_hosts(host, expected):
    assert is_loopback(host) is expected


def test_functions_get_fake_credentials_and_the_containers_endpoint():
    backend = AwsBackend("http://127.0.0.1:5000", "http://172.17.0.1:41000", "eu-west-1")

    env = backend.environment()

    assert env["AWS_ENDPOINT_URL"] == "http://172.17.0.1:41000"
    assert {k: env[k] for k in FAKE_CREDENTIALS} == FAKE_CREDENTIALS
    assert not any(value.startswith(("AKIA", "ASIA")) for value in env.values())


def test_an_external_endpoint_cannot_be_reset():
    backend = AwsBackend("http://127.0.0.1:4566", "http://172.17.0.1:41000", "us-east-1")

    with pytest.raises(Exception, match="cannot be reset between tests"):
        backend.reset()
