"""The trace relay (pytest_lambda_image/relay/trace_relay.c) on its own, in a
container of the stand-in base: a stand-in RIE (a Python HTTP server on the
Runtime API's port, run by the relay as its child) and a client in the
container's network talk through it. What the function tests cannot easily
steer: `Expect: 100-continue`, chunked bodies both ways, a /next answer with
and without the carrier, and the relay's exit code."""

from __future__ import annotations

import io
import json
import tarfile

import pytest

from pytest_lambda_image._runtime import cleanup
from pytest_lambda_image._runtime.rie import rie_arch
from pytest_lambda_image.relay import CARRIER_PREFIX, find_relay

FAKE_RIE = r'''
import json, os, select, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"
HUNG_UP = []

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path == "/argv":
            return self._answer(json.dumps(sys.argv[1:]).encode())
        if self.path == "/hung-up":
            return self._answer(json.dumps(HUNG_UP).encode())
        if self.headers.get("X-Mode") == "hang":  # a /next that waits: does the relay let go with its runtime?
            readable, _, _ = select.select([self.connection], [], [], 10)
            HUNG_UP.append(bool(readable) and self.connection.recv(1) == b"")
            self.close_connection = True
            return
        body = b'{"n": 1}' if self.path.endswith("/next") else b"x" * 5000
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", "req-1")
        mode = self.headers.get("X-Mode", "")
        if mode != "no-carrier":
            self.send_header("Lambda-Runtime-Aws-Tenant-Id", "CARRIER" + TRACE)
        if mode == "chunked":
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            for piece in (b"ab", b"cdef"):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            self.wfile.write(b"0\r\n\r\n")
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _answer(self, body):
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        if self.headers.get("Transfer-Encoding") == "chunked":
            data = b""
            while True:
                size = int(self.rfile.readline(), 16)
                data += self.rfile.read(size)
                self.rfile.readline()
                if size == 0:
                    break
        else:
            data = self.rfile.read(int(self.headers["Content-Length"]))
        answer = json.dumps({"expect": self.headers.get("Expect"), "length": len(data)}).encode()
        self.send_response(202)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)
        if self.path == "/quit":
            self.wfile.flush()
            os._exit(7)

ThreadingHTTPServer(("127.0.0.1", 9001), Handler).serve_forever()
'''.replace("CARRIER", CARRIER_PREFIX)

CLIENT = r'''
import http.client, json, socket, time

def get(path, mode=""):
    c = http.client.HTTPConnection("127.0.0.1", 9002, timeout=10)
    c.request("GET", path, headers={"X-Mode": mode})
    r = c.getresponse()
    return {"trace": r.getheader("Lambda-Runtime-Trace-Id"), "tenant": r.getheader("Lambda-Runtime-Aws-Tenant-Id"),
            "request_id": r.getheader("Lambda-Runtime-Aws-Request-Id"), "body": r.read().decode()}

out = {"next": get("/2018-06-01/runtime/invocation/next"),
       "chunked": get("/2018-06-01/runtime/invocation/next", "chunked"),
       "plain": get("/2018-06-01/runtime/invocation/next", "no-carrier"),
       "other": get("/2018-06-01/runtime/other")}

# Expect: 100-continue, as curl sends it: the 100 must come before the body is sent.
s = socket.create_connection(("127.0.0.1", 9002), timeout=10)
body = b"y" * 2_000_000
s.sendall(b"POST /2018-06-01/runtime/invocation/req-1/response HTTP/1.1\r\nHost: x\r\n"
          b"Content-Length: %d\r\nExpect: 100-continue\r\n\r\n" % len(body))
interim = s.recv(25)
s.sendall(body)
final = b""
while b"}" not in final:
    final += s.recv(65536)
out["expect"] = {"interim": interim.decode(), "final": json.loads(final.split(b"\r\n\r\n", 1)[1])}

c = http.client.HTTPConnection("127.0.0.1", 9002, timeout=10)
c.putrequest("POST", "/2018-06-01/runtime/invocation/req-1/response")
c.putheader("Transfer-Encoding", "chunked")
c.endheaders()
for piece in (b"hello ", b"chunked ", b"world"):
    c.send(b"%x\r\n%s\r\n" % (len(piece), piece))
c.send(b"0\r\n\r\n")
out["chunked_request"] = json.loads(c.getresponse().read())

# A runtime that goes away while its /next waits takes the request with it.
s = socket.create_connection(("127.0.0.1", 9002), timeout=10)
s.sendall(b"GET /2018-06-01/runtime/invocation/next HTTP/1.1\r\nHost: x\r\nX-Mode: hang\r\n\r\n")
time.sleep(0.3)
s.close()
time.sleep(0.5)
out["hung_up"] = json.loads(get("/hung-up")["body"])
out["argv"] = json.loads(get("/argv")["body"])

print(json.dumps(out), flush=True)
c = http.client.HTTPConnection("127.0.0.1", 9002, timeout=10)
c.request("POST", "/quit", body=b"")
c.getresponse().read()
'''

TRACE = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=0"
BOOTSTRAP = ["/relay/trace-relay", "exec", "/bin/true", "bundle", "exec", "aws_lambda_ric", "app.handler"]


@pytest.fixture
def relay_container(lambda_engine, base_image):
    binary = find_relay(rie_arch(base_image.architecture))
    if binary is None:
        pytest.skip("no compiler here builds the trace relay")
    client = lambda_engine.client
    container = client.containers.create(
        base_image.id,
        # As plan_launch puts it, with an image command that holds an `exec` of its own (bundle exec ...).
        entrypoint=["/relay/trace-relay", "front", "/usr/bin/python3", "/relay/fake_rie.py", *BOOTSTRAP],
        labels=cleanup.container_labels(),
    )
    cleanup.track(container.id, client)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data, mode in (
            ("trace-relay", binary.read_bytes(), 0o755),
            ("fake_rie.py", FAKE_RIE.encode(), 0o644),
            ("client.py", CLIENT.encode(), 0o644),
        ):
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), mode
            tar.addfile(info, io.BytesIO(data))
    container.put_archive("/", _in_dir("relay", buffer.getvalue()))
    container.start()
    yield container
    cleanup.remove_container(client, container.id)


def _in_dir(directory: str, archive: bytes) -> bytes:
    source = tarfile.open(fileobj=io.BytesIO(archive))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            member.name = f"{directory}/{member.name}"
            tar.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


def test_the_relay_turns_the_carrier_into_the_trace_header_and_passes_everything_else(relay_container):
    wait_then_run = "import time; time.sleep(0.5); exec(open('/relay/client.py').read())"
    _, output = relay_container.exec_run(["python3", "-c", wait_then_run])  # ends with the container
    out = json.loads(output.decode().strip().splitlines()[0])

    assert out["next"] == {"trace": TRACE, "tenant": None, "request_id": "req-1", "body": '{"n": 1}'}
    assert out["chunked"] == {"trace": TRACE, "tenant": None, "request_id": "req-1", "body": "abcdef"}
    assert out["plain"]["trace"] is None and out["plain"]["body"] == '{"n": 1}'
    # Only /next answers are changed.
    assert out["other"]["trace"] is None and out["other"]["tenant"] == CARRIER_PREFIX + TRACE
    assert out["other"]["body"] == "x" * 5000
    assert out["expect"]["interim"] == "HTTP/1.1 100 Continue\r\n\r\n"
    assert out["expect"]["final"] == {"expect": None, "length": 2_000_000}
    assert out["chunked_request"] == {"expect": None, "length": len("hello chunked world")}

    assert out["hung_up"] == [True]
    # Only the relay's own `exec` pair is looked at; the image's command reaches the RIE whole.
    assert out["argv"] == BOOTSTRAP

    # The stand-in RIE exits with 7 after /quit: the relay, PID 1, exits as it did.
    assert relay_container.wait(timeout=30)["StatusCode"] == 7
