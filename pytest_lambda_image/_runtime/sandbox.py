"""How a function container is confined the way Lambda confines a function:
its user, a read-only root filesystem, a /tmp on disk, a memory limit without
swap, CPU in proportion to memory, Lambda's limits on file descriptors and
processes, and the environment Lambda sets.

Pure: this module turns settings into `docker create` options and variables;
function.py applies them (and mounts the /tmp volume, labelled for cleanup).
"""

from __future__ import annotations

import datetime
import io
import os
import tarfile
import uuid
from collections.abc import Mapping
from typing import Any

from .._lambda import MAX_OPEN_FILES, MAX_TASKS, MAX_VCPUS, MB_PER_VCPU, ROLE_CREDENTIAL_ENV
from .settings import FunctionConfig

MIN_NANO_CPUS = 10_000_000  # Docker refuses less than 0.01 CPU
TMP = "/tmp"
# /dev/shm does not exist on Lambda (multiprocessing's semaphores fail there):
# a tiny read-only one makes them fail here too instead of passing locally.
_NO_SHM = "ro,nosuid,nodev,noexec,size=4k"


def sandbox_options(config: FunctionConfig) -> dict[str, Any]:
    """Keyword arguments for docker's `containers.create` (empty without fidelity)."""
    if not config.fidelity:
        return {}
    memory = f"{config.memory_size}m"
    # /tmp is not here: it is a volume on the engine's disk (function.py
    # mounts it), since a tmpfs counts against the memory limit and Lambda's
    # /tmp does not. No filesystem cap is available on a plain Docker disk
    # without privileges, so the file size limit stands in for one: no file
    # may outgrow the ephemeral storage (EFBIG, where Lambda says ENOSPC).
    options: dict[str, Any] = {
        "user": config.user,
        "read_only": True,
        "tmpfs": {"/dev/shm": _NO_SHM},
        "mem_limit": memory,
        "memswap_limit": memory,  # the same figure: no swap, as on Lambda
        "ulimits": [
            {"Name": "nofile", "Soft": MAX_OPEN_FILES, "Hard": MAX_OPEN_FILES},
            {"Name": "fsize", "Soft": tmp_bytes(config), "Hard": tmp_bytes(config)},
        ],
        # Processes and threads: the container's pids cgroup. RLIMIT_NPROC would
        # count every process of the uid on the engine's host, so functions
        # running side by side (all uid 993) would share one budget.
        "pids_limit": MAX_TASKS,
    }
    # CPU (config.cpu_scaling): cpu.py changes the quota per phase, since init
    # runs with more CPU than the invokes; the container starts without one.
    return options


def tmp_bytes(config: FunctionConfig) -> int:
    return config.ephemeral_storage * 1024 * 1024


def tmp_root_archive(config: FunctionConfig) -> bytes:
    """A tar whose root entry, put at /tmp before start, makes the volume's
    root the function's own, 0700 (as on Lambda), whatever the image has there."""
    uid, gid = (int(part) for part in config.user.split(":"))
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        # "/" names the directory the archive is put in; Docker skips ".".
        root = tarfile.TarInfo("/")
        root.type, root.mode, root.uid, root.gid = tarfile.DIRTYPE, 0o700, uid, gid
        tar.addfile(root)
    return buffer.getvalue()


def cpu_quota(memory_size: int, host_cpus: int | None = None) -> int:
    """Lambda's CPU share for `memory_size` MB, in Docker's nano-CPUs (capped
    at Lambda's 6 vCPUs and at what the Docker host has, which Docker requires)."""
    nano = min(int(memory_size * 1_000_000_000 / MB_PER_VCPU), MAX_VCPUS * 1_000_000_000)
    if host_cpus:
        nano = min(nano, host_cpus * 1_000_000_000)
    return max(nano, MIN_NANO_CPUS)


def log_stream_name(now: datetime.datetime | None = None) -> str:
    """Lambda's `YYYY/MM/DD/[$LATEST]<32 hex>`: one stream per execution environment."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    return f"{now:%Y/%m/%d}/[$LATEST]{uuid.uuid4().hex}"


def lambda_environment(
    config: FunctionConfig,
    function_name: str,
    image_env: Mapping[str, str] | None = None,
    *,
    host_env: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The variables the container gets on top of the image's own ENV.

    Without fidelity: what the RIE needs and SDKs expect (name, version,
    timeout, memory, region). With it, also what Lambda sets for an image
    function that the RIE leaves out or fills with placeholders."""
    image_env = image_env or {}
    env = {
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_TIMEOUT": str(config.timeout),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(config.memory_size),
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        # Lambda sets these and SDKs need them; the RIE does not.
        "AWS_REGION": config.region,
        "AWS_DEFAULT_REGION": config.region,
    }
    if config.fidelity:
        env.update(
            {
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": log_stream_name(),
                # Lets the X-Ray SDK log instead of raising when there is no segment.
                "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            }
        )
        # An AWS base image names its runtime itself; any other image is "AWS_Lambda_Image".
        for name, value in (
            ("AWS_EXECUTION_ENV", "AWS_Lambda_Image"),
            ("LAMBDA_TASK_ROOT", "/var/task"),
            ("LAMBDA_RUNTIME_DIR", "/var/runtime"),
        ):
            if not image_env.get(name):
                env[name] = value
    if config.log_format:
        env["AWS_LAMBDA_LOG_FORMAT"] = config.log_format
    if config.log_level:
        env["AWS_LAMBDA_LOG_LEVEL"] = config.log_level
    if config.handler:
        env["_HANDLER"] = env["AWS_LAMBDA_FUNCTION_HANDLER"] = config.handler
    if config.pass_aws_credentials:
        host_env = os.environ if host_env is None else host_env
        env.update({k: host_env[k] for k in ROLE_CREDENTIAL_ENV if host_env.get(k)})
    env.update(config.env)
    return env
