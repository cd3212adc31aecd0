"""ssh:// engine addresses: parsing, where published ports live, and the one
line a failed ssh connection becomes."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from pytest_lambda_image import DockerEngine, DockerUnavailableError
from pytest_lambda_image._runtime.engine import docker_host_address
from pytest_lambda_image._runtime.remote import SshTarget, explain, resolve


@pytest.mark.parametrize(
    ("url", "host", "user", "port"),
    [
        ("ssh://buildbox", "buildbox", None, None),
        ("ssh://ci@10.0.0.5", "10.0.0.5", "ci", None),
        ("ssh://ci@10.0.0.5:2222", "10.0.0.5", "ci", 2222),
        ("ssh://root@[fd00::2]:22", "fd00::2", "root", 22),
        ("ssh://ci@buildbox/", "buildbox", "ci", None),
    ],
)
def test_parse(url, host, user, port):
    target = SshTarget.parse(url)
    assert (target.host, target.user, target.port) == (host, user, port)


@pytest.mark.parametrize("url", ["ssh://", "ssh://ci@host:port", "ssh://ci@host/var/run/docker.sock", "tcp://h:2375"])
def test_parse_refuses(url):
    with pytest.raises(DockerUnavailableError, match=r"write it as ssh://\[user@\]host\[:port\]"):
        SshTarget.parse(url)


def test_ssh_arguments_never_prompt():
    args = SshTarget.parse("ssh://ci@buildbox:2222").ssh_args()
    assert args[-2:] == ["--", "buildbox"]
    assert "BatchMode=yes" in args and ["-l", "ci"] == args[args.index("-l") : args.index("-l") + 2]
    assert ["-p", "2222"] == args[args.index("-p") : args.index("-p") + 2]


@pytest.mark.parametrize(
    ("url", "address"),
    [("ssh://ci@10.0.0.5", "10.0.0.5"), ("ssh://localhost", "127.0.0.1"), ("ssh://[fd00::2]:22", "fd00::2")],
)
def test_ports_live_at_the_ssh_host(url, address):
    assert docker_host_address(url) == address


def fake_ssh(directory: Path, config: str) -> None:
    """An `ssh` first on PATH that reads `config` instead of ~/.ssh/config."""
    (directory / "ssh_config").write_text(config)
    wrapper = directory / "ssh"
    wrapper.write_text(f'#!/bin/sh\nexec /usr/bin/ssh -F {directory / "ssh_config"} "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IEXEC)


@pytest.mark.skipif(not os.path.exists("/usr/bin/ssh"), reason="needs OpenSSH's client")
def test_resolve_follows_the_ssh_config(tmp_path, monkeypatch):
    fake_ssh(tmp_path, "Host buildbox\n  HostName 192.0.2.7\n  Port 2200\n")
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    assert resolve(SshTarget.parse("ssh://ci@buildbox")) == ("192.0.2.7", 2200)
    assert resolve(SshTarget.parse("ssh://ci@192.0.2.9:23")) == ("192.0.2.9", 23)


def test_no_ssh_client_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "ssh://ci@192.0.2.7")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DockerUnavailableError, match=r"^DOCKER_HOST is an ssh:// address but no `ssh` client"):
        DockerEngine.connect()


TARGET = SshTarget.parse("ssh://ci@buildbox")


@pytest.mark.parametrize(
    ("ssh_said", "hint"),
    [
        (
            "ci@buildbox: Permission denied (publickey).",
            "the host refused the login: check the user in ssh://ci@buildbox",
        ),
        ("Host key verification failed.", "connect once by hand (`ssh ci@buildbox`)"),
        ("ssh: Could not resolve hostname buildbox: Name or service not known", "check the address and that sshd"),
        ("ssh: connect to host 10.0.0.5 port 22: No route to host", "that sshd listens on port 22"),
        ("ssh: connect to host 10.0.0.5 port 22: Connection timed out", "check the address"),
        ("bash: line 1: docker: command not found", "the docker CLI must be installed on that host"),
        ("Cannot connect to the Docker daemon at unix:///var/run/docker.sock.", "Docker is not running on that host"),
        ("something else", "check that `ssh ci@buildbox docker version` works from here"),
    ],
)
def test_explain(ssh_said, hint):
    line = explain(TARGET, ssh_said)
    assert line.startswith(f"cannot reach the Docker engine at ssh://ci@buildbox over ssh ({ssh_said}): ")
    assert hint in line and "\n" not in line
