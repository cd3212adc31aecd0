"""A Docker engine reached over ssh:// (DOCKER_HOST or a docker context)
without paramiko, behind a private unix socket the docker SDK talks to. The
user's own ssh client, config, keys, agent and known_hosts apply. (docker-py's
own `use_ssh_client` transport imports paramiko anyway.)

One ssh login forwards that socket to the engine's socket on the host (the
one its docker CLI names), each connection a channel of it; where the host's
CLI names no unix socket, each connection runs `ssh HOST docker system
dial-stdio`, as the docker CLI does (about 0.2 s a connection more)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import IO
from urllib.parse import urlparse

from ..errors import DockerUnavailableError

CONNECT_TIMEOUT_S = 15
_PREFIX = "pytest-lambda-ssh-"
# Multiplexed: one ssh login per session, each further connection is a channel of it.
CONTROL_PERSIST_S = 30
ALIVE_INTERVAL_S = 3


@dataclass(frozen=True)
class SshTarget:
    """Where an ssh:// DOCKER_HOST points: ssh://[user@]host[:port]."""

    url: str
    host: str
    user: str | None = None
    port: int | None = None

    @classmethod
    def parse(cls, url: str) -> SshTarget:
        parsed = urlparse(url)
        try:
            port = parsed.port
        except ValueError:
            port = -1
        if parsed.scheme != "ssh" or not parsed.hostname or port == -1 or parsed.path not in ("", "/"):
            raise DockerUnavailableError(
                f"cannot use DOCKER_HOST {url}: write it as ssh://[user@]host[:port] (a path or query is not allowed)"
            )
        return cls(url, parsed.hostname, parsed.username, port)

    def ssh_args(self) -> list[str]:
        """The options and destination for `ssh` (no remote command)."""
        args = ["-o", "BatchMode=yes", "-o", f"ConnectTimeout={CONNECT_TIMEOUT_S}"]
        if self.user:
            args += ["-l", self.user]
        if self.port:
            args += ["-p", str(self.port)]
        return [*args, "--", self.host]


def ssh_client() -> str:
    """The ssh client on PATH, or one clear line saying it is missing."""
    found = shutil.which("ssh")
    if found is None:
        raise DockerUnavailableError(
            "DOCKER_HOST is an ssh:// address but no `ssh` client is on PATH: install OpenSSH's client "
            "(openssh-client), or reach the engine over tcp:// instead"
        )
    return found


def resolve(target: SshTarget) -> tuple[str, int]:
    """The address and port ssh would connect to, after ~/.ssh/config
    (`Host buildbox` with a HostName): ports the engine publishes live there."""
    ssh = ssh_client()
    try:
        shown = subprocess.run([ssh, "-G", *target.ssh_args()], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return target.host, target.port or 22
    values: dict[str, str] = {}
    for line in shown.stdout.splitlines():
        key, _, value = line.partition(" ")
        values.setdefault(key.lower(), value.strip())
    try:
        port = int(values.get("port", ""))
    except ValueError:
        port = target.port or 22
    return values.get("hostname") or target.host, port


def explain(target: SshTarget, ssh_said: str, port: int = 22) -> str:
    """One line for a failed ssh connection: what ssh said and what to check."""
    destination = f"{target.user + '@' if target.user else ''}{target.host}"
    said = ssh_said.lower()
    if "permission denied" in said:
        hint = (
            f"the host refused the login: check the user in {target.url} and that your key is loaded "
            "(ssh-add) or named in ~/.ssh/config"
        )
    elif "host key verification failed" in said or "remote host identification" in said:
        hint = f"its host key is not in known_hosts: connect once by hand (`ssh {destination}`) to accept it"
    elif any(
        word in said
        for word in ("could not resolve", "no route", "timed out", "refused", "unreachable", "connection closed")
    ):
        hint = f"check the address and that sshd listens on port {port} there"
    elif "not found" in said or "no such file" in said:
        hint = "the docker CLI must be installed on that host (ssh runs `docker system dial-stdio` there)"
    elif "cannot connect to the docker daemon" in said or "dial unix" in said:
        hint = "Docker is not running on that host"
    else:
        hint = f"check that `ssh {destination} docker version` works from here"
    return f"cannot reach the Docker engine at {target.url} over ssh ({ssh_said}): {hint}"


class SshBridge:
    """A unix socket in a private directory; each connection to it is piped
    through `ssh HOST docker system dial-stdio`."""

    def __init__(self, target: SshTarget) -> None:
        self.target = target
        self._ssh = ssh_client()
        _remove_orphans()
        self._dir = tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-")
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._dir, True)
        self.socket_path = os.path.join(self._dir, "docker.sock")
        self.last_error: str | None = None  # the last line ssh wrote to stderr, if any
        self.failed = False  # ssh itself failed to log in: nothing else will work either
        self._processes: set[subprocess.Popen[bytes]] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._served = 0
        self._listener: socket.socket | None = None
        self._forward: subprocess.Popen[bytes] | None = None
        remote = self._remote_socket()
        if self.failed or (remote is not None and self._start_forward(remote)):
            return
        self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._listener.bind(self.socket_path)
        self._listener.listen(64)
        threading.Thread(target=self._accept, name="pytest-lambda-ssh", daemon=True).start()

    def _alive(self) -> list[str]:
        # A host gone silent (unplugged, partitioned) ends the login within seconds: the
        # engine's calls then fail at once instead of each waiting out the client's timeout.
        return ["-o", f"ServerAliveInterval={ALIVE_INTERVAL_S}", "-o", "ServerAliveCountMax=2"]

    def _remote_socket(self) -> str | None:
        """The unix socket the host's docker CLI talks to (its DOCKER_HOST or
        context), or None."""
        command = [self._ssh, *self.target.ssh_args(), "docker context inspect --format '{{.Endpoints.docker.Host}}'"]
        try:
            answer = subprocess.run(command, capture_output=True, text=True, timeout=CONNECT_TIMEOUT_S + 10)
        except (OSError, subprocess.SubprocessError):
            return None
        if answer.returncode == 255:  # ssh's own exit status: it could not connect or log in
            lines = answer.stderr.strip().splitlines()
            self.last_error = lines[-1].strip() if lines else "ssh exited with status 255"
            self.failed = True
            return None
        endpoint = answer.stdout.strip()
        return endpoint[len("unix://") :] if answer.returncode == 0 and endpoint.startswith("unix:///") else None

    def _start_forward(self, remote: str) -> bool:
        command = [self._ssh, "-o", "ExitOnForwardFailure=yes", *self._alive()]
        # `cat` there ends with our end of its stdin: when this process dies, even by kill -9,
        # the login ends too instead of holding the forward open for nobody.
        command += ["-L", f"{self.socket_path}:{remote}", *self.target.ssh_args(), "cat"]
        try:
            process = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                start_new_session=True,  # a Ctrl-C at the terminal must not cut the session's teardown off
            )
        except OSError:
            return False
        assert process.stderr is not None
        threading.Thread(target=self._read_errors, args=(process.stderr,), daemon=True).start()
        deadline = time.monotonic() + CONNECT_TIMEOUT_S + 5
        while not os.path.exists(self.socket_path):
            if process.poll() is not None or time.monotonic() > deadline:
                with contextlib.suppress(OSError):
                    process.kill()
                process.wait()
                with contextlib.suppress(OSError):
                    os.unlink(self.socket_path)
                return False
            time.sleep(0.01)
        self._forward = process
        return True

    @property
    def base_url(self) -> str:
        return f"unix://{self.socket_path}"

    def command(self) -> list[str]:
        control = ["-o", "ControlMaster=auto", "-o", f"ControlPath={self._dir}/control"]
        control += ["-o", f"ControlPersist={CONTROL_PERSIST_S}", *self._alive()]
        return [self._ssh, *control, *self.target.ssh_args(), "docker", "system", "dial-stdio"]

    def wait_for_error(self, timeout: float = 3.0) -> str | None:
        """What ssh said when a connection failed: its stderr may come a moment
        after the connection closed."""
        if self.failed:
            return self.last_error
        deadline = time.monotonic() + timeout
        while self.last_error is None and time.monotonic() < deadline:
            with self._lock:
                if not self._processes and self._served:
                    break
            time.sleep(0.02)
        return self.last_error

    def close(self) -> None:
        self._closed = True
        if self._forward is not None:
            with contextlib.suppress(OSError):
                self._forward.kill()
            self._forward.wait()
            self._cleanup()
            return
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.close()
        with self._lock:
            processes = list(self._processes)
        for process in processes:
            with contextlib.suppress(OSError):
                process.kill()
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            # the multiplexing master, else it lingers CONTROL_PERSIST_S
            subprocess.run(
                [self._ssh, "-o", f"ControlPath={self._dir}/control", "-O", "exit", *self.target.ssh_args()],
                capture_output=True,
                timeout=5,
                check=False,
            )
        self._cleanup()

    def _accept(self) -> None:
        assert self._listener is not None
        while not self._closed:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(connection,), name="pytest-lambda-ssh", daemon=True).start()

    def _serve(self, connection: socket.socket) -> None:
        try:
            process = subprocess.Popen(
                self.command(),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                bufsize=0,
                start_new_session=True,  # a Ctrl-C at the terminal must not cut the session's teardown off
            )
        except OSError as exc:
            self.last_error = f"cannot run {self._ssh}: {exc.strerror}"
            connection.close()
            return
        with self._lock:
            self._processes.add(process)
            self._served += 1
        assert process.stdin is not None and process.stdout is not None and process.stderr is not None
        errors = threading.Thread(target=self._read_errors, args=(process.stderr,), daemon=True)
        errors.start()
        upstream = threading.Thread(target=_pump_to_ssh, args=(connection, process.stdin), daemon=True)
        upstream.start()
        try:
            while True:
                data = os.read(process.stdout.fileno(), 65536)
                if not data:
                    break
                connection.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)
            connection.close()
            with contextlib.suppress(OSError):
                process.kill()
            process.wait()
            errors.join(timeout=2)  # ssh's last words, before this connection counts as done
            for stream in (process.stdin, process.stdout):
                with contextlib.suppress(OSError):
                    stream.close()
            with self._lock:
                self._processes.discard(process)

    def _read_errors(self, stream: IO[bytes]) -> None:
        with contextlib.suppress(OSError, ValueError):
            for raw in iter(stream.readline, b""):
                line = raw.decode("utf-8", "replace").strip()
                if line:
                    self.last_error = line
            stream.close()


def _pump_to_ssh(connection: socket.socket, stdin: IO[bytes]) -> None:
    try:
        while True:
            data = connection.recv(65536)
            if not data:
                break
            view = memoryview(data)
            while view:
                view = view[stdin.write(view) or 0 :]
    except (OSError, ValueError):
        pass
    finally:
        with contextlib.suppress(OSError):
            stdin.close()  # ssh passes the end of the request stream on


def _remove_orphans() -> None:
    """The socket directories of killed sessions (kill -9 runs no cleanup)."""
    for path in Path(tempfile.gettempdir()).glob(f"{_PREFIX}*-*"):
        try:
            pid = int(path.name[len(_PREFIX) :].split("-")[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except (ValueError, OSError):
            continue
