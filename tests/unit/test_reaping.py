"""Which labelled containers a session reaps: only those of dead pytest
processes of this machine, also when the engine is another machine's."""

from __future__ import annotations

import os
import subprocess
import sys

from pytest_lambda_image._runtime import cleanup


def labels(**changes: str) -> dict[str, str]:
    mine = cleanup.container_labels()
    mine[cleanup.LABEL_SESSION] = "an-earlier-session"
    return {**mine, **changes}


def dead_pid() -> str:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return str(process.pid)


def test_a_dead_session_of_this_machine_is_stale():
    assert cleanup._is_stale(labels(**{cleanup.LABEL_PID: dead_pid()}))


def test_a_live_one_is_not():
    assert not cleanup._is_stale(labels(**{cleanup.LABEL_PID: str(os.getppid())}))
    assert not cleanup._is_stale(cleanup.container_labels())  # this session's own


def test_another_pid_namespace_is_not_ours_to_judge():
    assert not cleanup._is_stale(labels(**{cleanup.LABEL_PID: dead_pid(), cleanup.LABEL_PIDNS: "pid:[1]"}))


def test_another_machine_of_the_same_name_keeps_its_running_containers():
    # Two CI machines named alike, one remote engine: the pid means nothing here.
    other = labels(**{cleanup.LABEL_PID: dead_pid(), cleanup.LABEL_BOOT: "another-boot"})
    assert not cleanup._is_stale(other)
    assert cleanup._is_stale(other, stopped=True)  # this machine before a reboot: stopped with it


def test_labels_without_a_boot_id_are_judged_by_pid():
    old = labels(**{cleanup.LABEL_PID: dead_pid()})
    del old[cleanup.LABEL_BOOT]
    assert cleanup._is_stale(old)
