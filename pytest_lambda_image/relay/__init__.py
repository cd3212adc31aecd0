"""The trace relay (trace_relay.c): how the function gets each invoke's
X-Amzn-Trace-Id as `_X_AMZN_TRACE_ID`, which the RIE alone never passes on
(it reads the header, but its no-op tracer renders no
Lambda-Runtime-Trace-Id for the runtime). The invoke carries the trace id
a second time in X-Amz-Tenant-Id, which the RIE hands to the runtime as
is; the relay, between the runtime and the RIE's Runtime API, turns it
back into Lambda-Runtime-Trace-Id. Invokes themselves do not pass through
the relay.

A static binary, so it runs in any image, FROM scratch included; built
from the C source here once per source version and architecture with the
first compiler found (gcc for this machine's architecture, the
aarch64-linux-gnu cross gcc, or `zig cc` from the ziglang package) and
kept in the cache like the RIE. Without a compiler functions run without
it, and say once that the trace id does not reach them.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from .._lambda import INIT_BUDGET_S
from .._runtime.additions import HELPER_DIR, StartAddition
from .._runtime.cache import cache_dir
from .._runtime.rie import Launch, rie_arch
from ..errors import ConfigError

if TYPE_CHECKING:
    from .._runtime.engine import DockerEngine
    from .._runtime.function import LambdaFunction
    from .._runtime.image import LambdaImage

RELAY_MOUNT_POINT = f"{HELPER_DIR}/trace-relay"
NAME = "trace_relay"  # the addition's name on a function
CARRIER_HEADER = "X-Amz-Tenant-Id"
CARRIER_PREFIX = "pytest-lambda-image-trace="  # what trace_relay.c looks for
RELAY_ENV = "PYTEST_LAMBDA_TRACE_RELAY"  # 0/false/off: no relay; or the path of a built binary
SOURCE = Path(__file__).with_name("trace_relay.c")
_ZIG_TARGETS = {"x86_64": "x86_64-linux-musl", "arm64": "aarch64-linux-musl"}
_found: dict[str, Path | None] = {}
_warned: set[str] = set()


def _host_arch() -> str:
    machine = platform.machine().lower()
    return "arm64" if machine in ("aarch64", "arm64") else "x86_64" if machine in ("x86_64", "amd64") else machine


def compilers(arch: str) -> list[list[str]]:
    """Commands that build a static Linux binary for `arch` (the RIE's
    architecture names), best first."""
    found: list[list[str]] = []
    if arch == _host_arch() and sys.platform.startswith("linux"):
        for name in ("gcc", "cc"):
            if shutil.which(name):
                found.append([name, "-static"])
                break
    if arch == "arm64" and shutil.which("aarch64-linux-gnu-gcc"):
        found.append(["aarch64-linux-gnu-gcc", "-static"])
    if arch == "x86_64" and shutil.which("x86_64-linux-gnu-gcc") and _host_arch() != "x86_64":
        found.append(["x86_64-linux-gnu-gcc", "-static"])
    if shutil.which("zig"):
        found.append(["zig", "cc", "-target", _ZIG_TARGETS[arch]])
    if importlib.util.find_spec("ziglang") is not None:  # pip install ziglang: a compiler for every target
        found.append([sys.executable, "-m", "ziglang", "cc", "-target", _ZIG_TARGETS[arch]])
    return found


def launch_through_relay(rie: str, rie_flags: Sequence[str], bootstrap: Sequence[str]) -> Launch:
    """The relay is PID 1 and runs the RIE (`front`); the RIE starts the
    bootstrap through it (`exec`), so the runtime's Runtime API is the relay."""
    return Launch(
        entrypoint=[RELAY_MOUNT_POINT],
        command=["front", rie, *rie_flags, RELAY_MOUNT_POINT, "exec", *bootstrap],
    )


def launch_keeping_phases(rie: str, rie_flags: Sequence[str], bootstrap: Sequence[str]) -> Launch:
    """As launch_through_relay, and the relay keeps Lambda's phases: the init's
    own budget, the function timeout from the moment the runtime gets its invoke
    (the RIE counts an init against the first invoke's timeout)."""
    launch = launch_through_relay(rie, rie_flags, bootstrap)
    return Launch(launch.entrypoint, ["front", "--init-budget", str(INIT_BUDGET_S), *launch.command[1:]])


def disabled() -> bool:
    return os.environ.get(RELAY_ENV, "").strip().lower() in ("0", "false", "off", "no")


def find_relay(arch: str) -> Path | None:
    """The relay binary for `arch`, built on first use; None when it is
    turned off or nothing here can build it (warned once per architecture)."""
    if disabled():
        return None
    explicit = os.environ.get(RELAY_ENV, "").strip()
    if explicit and explicit.lower() not in ("1", "true", "on", "yes"):
        if not Path(explicit).is_file():  # Docker would create a root-owned directory there
            raise ConfigError(
                f"{RELAY_ENV}={explicit} is not a file: name a built trace relay, or set it to 0 to run without one"
            )
        return Path(explicit)
    if arch not in _found:
        _found[arch] = _build(arch)
    if _found[arch] is None and arch not in _warned:
        _warned.add(arch)
        warnings.warn(
            f"pytest-lambda-image: no C compiler builds the trace relay for {arch} here (gcc, "
            f"{'aarch64-linux-gnu-gcc, ' if arch == 'arm64' else ''}zig, or `pip install ziglang`), so functions "
            "do not see their invoke's trace id as _X_AMZN_TRACE_ID (the RIE drops it)",
            stacklevel=2,
        )
    return _found[arch]


def _build(arch: str) -> Path | None:
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:12]
    target = cache_dir("relay") / f"trace-relay-{digest}-{arch}"
    if target.is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    for compiler in compilers(arch):
        fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        os.close(fd)
        command = [*compiler, "-O2", "-pthread", "-o", partial, str(SOURCE)]
        try:
            result = subprocess.run(command, capture_output=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired):
            result = None
        if result is not None and result.returncode == 0:
            os.chmod(partial, 0o755)
            os.replace(partial, target)  # atomic: concurrent sessions never run half a binary
            return target
        os.unlink(partial)
    return None


def addition(function: LambdaFunction, engine: DockerEngine, image: LambdaImage) -> StartAddition:
    """The relay as a start addition: PID 1 in front of the RIE, and each
    invoke's trace id in the carrier header. Nothing when it is turned off or
    cannot be built here."""
    binary = find_relay(rie_arch(image.architecture))
    if binary is None:
        return StartAddition()
    if not function.config.fidelity:  # a plain `docker run`: the RIE's own timer
        return StartAddition(helpers={RELAY_MOUNT_POINT: binary}, launch=launch_through_relay, invoke_headers=_carrier)
    return StartAddition(
        helpers={RELAY_MOUNT_POINT: binary},
        launch=launch_keeping_phases,
        invoke_headers=_carrier,
        # the first invoke may take the init budget, a stopped init and the timeout
        invoke_timeout_s=function.config.timeout + INIT_BUDGET_S + 2,
    )


def _carrier(trace_id: str) -> dict[str, str]:
    # The RIE drops the trace header but passes this one on to the runtime.
    return {CARRIER_HEADER: CARRIER_PREFIX + trace_id}


def attach(function: LambdaFunction) -> LambdaFunction:
    """Run `function` with the relay in front (a bare LambdaFunction has it
    already, from the installed additions)."""
    return function.with_addition(NAME, addition)
