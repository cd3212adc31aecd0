"""How a function container is confined the way Lambda confines a function:
its user, a read-only root filesystem, a sized /tmp, a memory limit without
swap, optionally CPU in proportion to memory, and the environment Lambda sets.

Pure: this module turns settings into `docker create` options and variables;
function.py applies them.
"""

from __future__ import annotations

import datetime
import os
import uuid
from collections.abc import Mapping
from typing import Any

from .._lambda import ROLE_CREDENTIAL_ENV
from .settings import FunctionConfig

MB_PER_VCPU = 1769  # Lambda: a function with 1,769 MB has the equivalent of one vCPU
MIN_NANO_CPUS = 10_000_000  # Docker refuses less than 0.01 CPU
# /dev/shm does not exist on Lambda (multiprocessing's semaphores fail there):
# a tiny read-only one makes them fail here too instead of passing locally.
_NO_SHM = "ro,nosuid,nodev,noexec,size=4k"


def sandbox_options(config: FunctionConfig, host_cpus: int | None = None) -> dict[str, Any]:
    """Keyword arguments for docker's `containers.create` (empty without fidelity)."""
    if not config.fidelity:
        return {}
    uid, gid = config.user.split(":")
    memory = f"{config.memory_size}m"
    options: dict[str, Any] = {
        "user": config.user,
        "read_only": True,
        "tmpfs": {
            # exec: Lambda lets functions run binaries they unpack to /tmp.
            # Owner as on Lambda. Docker copies the image's /tmp (and its mode,
            # usually 1777) into the tmpfs; "notmpcopyup" is refused by Docker
            # 20.10, so the 0700 Lambda shows applies only to images without /tmp.
            "/tmp": f"rw,exec,nosuid,nodev,size={config.ephemeral_storage}m,mode=0700,uid={uid},gid={gid}",
            "/dev/shm": _NO_SHM,
        },
        "mem_limit": memory,
        "memswap_limit": memory,  # the same figure: no swap, as on Lambda
    }
    if config.cpu_scaling:
        options["nano_cpus"] = cpu_quota(config.memory_size, host_cpus)
    return options


def cpu_quota(memory_size: int, host_cpus: int | None = None) -> int:
    """Lambda's CPU share for `memory_size` MB, in Docker's nano-CPUs (capped
    at what the Docker host has, which Docker requires)."""
    nano = int(memory_size * 1_000_000_000 / MB_PER_VCPU)
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
