"""Step-through debugging of a function: the runtime started ready for a
debugger to attach, on a published port, without changing the image.

Python: debugpy, downloaded on this machine (pip, cached like the RIE),
copied into the container (no bind mount, so remote engines work) and
started inside the runtime's own process through AWS_LAMBDA_EXEC_WRAPPER,
Lambda's hook for wrapping a runtime; an image's own wrapper still runs,
after ours. The runtime waits (bounded) for a debugger when it starts,
which under the RIE is at the first invoke.

Node.js: the V8 inspector, through NODE_OPTIONS (--inspect-wait: the
runtime waits for a debugger; node_inspector.py lets it run on after the
bounded wait).

While debugging the function's timeout is suspended (a very long one), so
a paused breakpoint does not end the invoke.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import os
import posixpath
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._runtime.cache import cache_dir
from ..errors import ConfigError, LambdaImageError

if TYPE_CHECKING:
    from .._runtime.additions import StartAddition
    from .._runtime.engine import DockerEngine
    from .._runtime.function import LambdaFunction
    from .._runtime.image import LambdaImage

PYTHON_PORT = 5678  # debugpy's customary port, inside the container
NODE_PORT = 9229  # the inspector's
DEBUG_DIR = "/aws-lambda-debug"  # a volume: the root filesystem is read-only under fidelity
DEBUG_TIMEOUT_S = 12 * 3600  # the function's timeout while a debugger may hold it at a breakpoint
DEFAULT_WAIT_S = 300.0
WAIT_ENV = "PYTEST_LAMBDA_DEBUG_WAIT"  # seconds the runtime waits for a debugger
DEBUGPY_VERSION = "1.8.22"  # pinned: the one the suite is tested with; bump deliberately
EXEC_WRAPPER = "AWS_LAMBDA_EXEC_WRAPPER"
_CHAINED_WRAPPER = "PYTEST_LAMBDA_DEBUG_WRAPPER"
_PORT_ENV = "PYTEST_LAMBDA_DEBUG_PORT"
_WAIT_IN_CONTAINER = "PYTEST_LAMBDA_DEBUG_WAIT_S"
# Parts of the debugpy wheel a Linux runtime never uses (attach-to-pid
# helpers for other systems, C sources): a third of the size it would copy.
_SKIPPED_SUFFIXES = (".pdb", ".dll", ".exe", ".dylib", ".so", ".c", ".cpp", ".h", ".hpp", ".pyx", ".pxd", ".lib")
KINDS = ("python", "node")


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


# Where to attach is announced here; the plugin points it at pytest's
# terminal, past output capture, so the line shows while the run waits.
_announcers: list[Callable[[str], None]] = [_to_stderr]


def set_announcer(announce: Callable[[str], None]) -> Callable[[], None]:
    """Announce through `announce` until the returned undo is called."""
    _announcers.append(announce)
    return lambda: _announcers.remove(announce)


def announce(line: str) -> None:
    _announcers[-1](line)


_WRAPPER = """#!/bin/sh
# pytest-lambda-image: start the runtime under debugpy (sitecustomize.py
# here), then the image's own AWS_LAMBDA_EXEC_WRAPPER, if it has one.
export PYTHONPATH="{dir}/python${{PYTHONPATH:+:$PYTHONPATH}}"
if [ -n "${{{chained}:-}}" ]; then
  wrapper="${chained}"
  unset {chained}
  exec "$wrapper" "$@"
fi
exec "$@"
"""

_SITECUSTOMIZE = '''"""pytest-lambda-image: starts debugpy in the runtime's process, waits a
bounded time for a debugger, then runs the image's own sitecustomize."""
import os
import sys


def _start_debugpy():
    # Popped: processes the function starts do not try to listen again.
    port = os.environ.pop("{port_env}", None)
    wait = float(os.environ.pop("{wait_env}", "300"))
    if port is None:
        return
    import threading

    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
    try:
        import debugpy
    finally:
        del sys.path[0]
    debugpy.listen(("0.0.0.0", int(port)))
    print("pytest-lambda-image: debugpy listens on port %s; waiting up to %.0f s for a debugger" % (port, wait),
          file=sys.stderr, flush=True)
    attached = threading.Event()

    def wait_for_client():
        debugpy.wait_for_client()  # returns once the client's configuration is done
        attached.set()

    threading.Thread(target=wait_for_client, daemon=True).start()
    if not attached.wait(wait):
        print("pytest-lambda-image: no debugger attached within %.0f s; running on" % wait, file=sys.stderr,
              flush=True)


def _chain():
    """The next sitecustomize on the path (Debian's, the image's own)."""
    here = os.path.dirname(os.path.abspath(__file__))
    saved = sys.path[:]
    mine = sys.modules.pop("sitecustomize", None)
    try:
        sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
        import importlib

        importlib.import_module("sitecustomize")
    except ImportError:
        pass
    finally:
        sys.path[:] = saved
        if mine is not None:
            sys.modules["sitecustomize"] = mine


_start_debugpy()
_chain()
'''


@dataclass(frozen=True)
class DebugPlan:
    """What debugging adds to a function's container."""

    kind: str  # python or node
    container_port: int
    host_port: int | None  # None: Docker picks a free one
    wait_s: float
    env: Mapping[str, str] = field(default_factory=dict)
    archive: bytes | None = None  # put into DEBUG_DIR before the container starts
    waits: bool = True  # the runtime waits (bounded) for a debugger at its start
    caveat: str = ""  # what the user should know when nothing listens

    def attach_message(self, function_name: str, host: str, port: int) -> str:
        exposed = (
            ""
            if host in ("127.0.0.1", "localhost", "::1")
            else f" (published on every interface of {host}: whoever reaches it can run code in the function)"
        )
        return self._how_to_attach(function_name, host, port) + exposed + self.caveat

    def _how_to_attach(self, function_name: str, host: str, port: int) -> str:
        if self.kind == "python":
            return (
                f"lambda debug: {function_name} waits up to {self.wait_s:.0f} s at its first invoke for a debugger "
                f"on {host}:{port} (debugpy). VS Code: a launch configuration "
                f'{{"type": "debugpy", "request": "attach", "connect": {{"host": "{host}", "port": {port}}}, '
                f'"pathMappings": [{{"localRoot": "${{workspaceFolder}}", "remoteRoot": "/var/task"}}]}}; '
                "PyCharm cannot attach to debugpy (it speaks its own pydevd protocol): use VS Code or another DAP "
                f"client (nvim-dap, Emacs dap-mode) on {host}:{port}"
            )
        if self.waits:
            start = (
                f"waits up to {self.wait_s:.0f} s at its first invoke for a debugger on {host}:{port} "
                "(Node.js inspector)"
            )
        else:
            start = f"runs with the Node.js inspector on {host}:{port} (this Node.js does not wait for a debugger)"
        return (
            f"lambda debug: {function_name} {start}. "
            f'VS Code: {{"type": "node", "request": "attach", "address": "{host}", "port": {port}, '
            f'"localRoot": "${{workspaceFolder}}", "remoteRoot": "/var/task"}}; WebStorm / PyCharm: an '
            f"'Attach to Node.js/Chrome' configuration on {host}:{port}; Chrome: chrome://inspect"
        )


def parse_debug(value: Any) -> str | None:
    """lambda_debug: off, on/auto, python or node, each optionally `:PORT`
    (the host port to publish the debugger on), or a bare PORT -> None or
    "kind" / "kind:port"."""
    if value is None or value is False:
        return None
    text = "auto" if value is True else str(value).strip().lower()
    kind, _, port = text.rpartition(":") if ":" in text else (text, "", "")
    if text.isdigit() and text not in ("0", "1"):
        kind, port = "auto", text
    kind = {"true": "auto", "on": "auto", "yes": "auto", "1": "auto", "nodejs": "node"}.get(kind, kind)
    if kind in ("off", "false", "no", "0", "none") and not port:
        return None
    if kind not in ("auto", "python", "node") or (port and not (port.isdigit() and 0 < int(port) < 65536)):
        raise ConfigError(
            f"invalid lambda_debug {value!r}: use auto, python or node, optionally with :PORT for the host port "
            "(e.g. python:5678), or off"
        )
    return f"{kind}:{int(port)}" if port else kind


def parse_setting(value: str) -> tuple[str, int | None]:
    """A normalized `debug` setting (settings.parse_debug) -> (kind, host port)."""
    kind, _, port = value.partition(":")
    return kind, int(port) if port else None


def wait_seconds(environ: Mapping[str, str] | None = None) -> float:
    raw = (os.environ if environ is None else environ).get(WAIT_ENV)
    if not raw:
        return DEFAULT_WAIT_S
    try:
        seconds = float(raw)
    except ValueError:
        seconds = -1.0
    if not 0 < seconds <= DEBUG_TIMEOUT_S:
        raise ConfigError(f"invalid {WAIT_ENV} {raw!r}: give the seconds to wait for a debugger, e.g. 120")
    return seconds


def runtime_kind(image_name: str, image_env: Mapping[str, str], has_file: Callable[[str], bool]) -> str:
    """python or node, from what the image says (AWS base images name their
    runtime in AWS_EXECUTION_ENV) or holds."""
    execution_env = image_env.get("AWS_EXECUTION_ENV", "").lower()
    if "python" in execution_env:
        return "python"
    if "node" in execution_env or image_env.get("NODE_PATH"):
        return "node"
    for path in ("/var/lang/bin/node", "/usr/local/bin/node", "/usr/bin/node"):
        if has_file(path):
            return "node"
    for path in ("/var/lang/bin/python3", "/usr/local/bin/python3", "/usr/bin/python3"):
        if has_file(path):
            return "python"
    raise ConfigError(
        f"cannot tell whether {image_name} runs Python or Node.js: set lambda_debug = python or node "
        "(the debugger supports those two runtimes)"
    )


def _old_node(image_env: Mapping[str, str]) -> bool:
    """An AWS base image of a Node.js older than 20 (no --inspect-wait)."""
    execution_env = image_env.get("AWS_EXECUTION_ENV", "").lower()
    major = execution_env.rsplit("nodejs", 1)[1].split(".")[0] if "nodejs" in execution_env else ""
    return major.isdigit() and int(major) < 20


def python_version(image_env: Mapping[str, str]) -> str | None:
    """The image's Python as AWS base images name it (AWS_Lambda_python3.12)."""
    execution_env = image_env.get("AWS_EXECUTION_ENV", "").lower()
    if "python" in execution_env:
        version = execution_env.rsplit("python", 1)[1]
        if version.replace(".", "").isdigit():
            return version
    return None


def plan(
    setting: str,
    *,
    image_name: str,
    image_env: Mapping[str, str],
    function_env: Mapping[str, str],
    has_file: Callable[[str], bool],
    wait_s: float | None = None,
) -> DebugPlan:
    """The debugging for a function: `function_env` is what the container
    gets on top of `image_env` (a wrapper or NODE_OPTIONS there is kept)."""
    kind, host_port = parse_setting(setting)
    if kind == "auto":
        kind = runtime_kind(image_name, image_env, has_file)
    wait = wait_seconds() if wait_s is None else wait_s
    env = {"AWS_LAMBDA_FUNCTION_TIMEOUT": str(DEBUG_TIMEOUT_S)}
    if kind == "node":
        options = function_env.get("NODE_OPTIONS", image_env.get("NODE_OPTIONS", ""))
        # --inspect-wait (Node 20.15+, 22.2+): the runtime waits for a debugger; older Nodes only listen.
        waits = not _old_node(image_env)
        flag = "--inspect-wait" if waits else "--inspect"
        env["NODE_OPTIONS"] = f"{options} {flag}=0.0.0.0:{NODE_PORT}".strip()
        return DebugPlan("node", NODE_PORT, host_port, wait, env, waits=waits)
    own_wrapper = function_env.get(EXEC_WRAPPER, image_env.get(EXEC_WRAPPER, ""))
    env.update({EXEC_WRAPPER: f"{DEBUG_DIR}/wrapper", _PORT_ENV: str(PYTHON_PORT), _WAIT_IN_CONTAINER: f"{wait:g}"})
    env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"  # its frozen-modules warning is about stdlib breakpoints only
    if own_wrapper:
        env[_CHAINED_WRAPPER] = own_wrapper
    archive = python_archive(fetch_debugpy(python_version(image_env)))
    return DebugPlan("python", PYTHON_PORT, host_port, wait, env, archive)


def fetch_debugpy(python: str | None = None, dest: Path | None = None) -> Path:
    """debugpy's pure-Python wheel (any architecture, any Linux), downloaded
    once with pip and kept in the cache. Nothing is installed here."""
    dest = dest or cache_dir("debugpy")
    wheel = dest / f"debugpy-{DEBUGPY_VERSION}-py2.py3-none-any.whl"
    if wheel.is_file():
        return wheel
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=dest) as tmp:
        command = [
            sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--platform", "any",
            "--implementation", "py", "--disable-pip-version-check", "--quiet", "--dest", tmp,
            f"debugpy=={DEBUGPY_VERSION}",
        ]  # fmt: skip
        if python:
            command[command.index("--dest"):command.index("--dest")] = ["--python-version", python]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True)
        found = list(Path(tmp).glob("debugpy-*.whl"))
        if result.returncode != 0 or not found:
            reason = (result.stderr.strip().splitlines() or ["no wheel"])[-1]
            raise LambdaImageError(
                f"cannot download debugpy {DEBUGPY_VERSION} for the debugger ({reason}); check that PyPI is "
                f"reachable, or put {wheel.name} into {dest}"
            )
        os.replace(found[0], wheel)  # atomic: concurrent sessions never see half a wheel
    return wheel


_archives: dict[Path, bytes] = {}


def python_archive(wheel: Path) -> bytes:
    """A tar for DEBUG_DIR: the wrapper, sitecustomize.py and debugpy."""
    if wheel not in _archives:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            _add(tar, "wrapper", _WRAPPER.format(dir=DEBUG_DIR, chained=_CHAINED_WRAPPER).encode(), 0o755)
            sitecustomize = _SITECUSTOMIZE.format(port_env=_PORT_ENV, wait_env=_WAIT_IN_CONTAINER)
            _add(tar, "python/sitecustomize.py", sitecustomize.encode(), 0o644)
            try:
                with zipfile.ZipFile(wheel) as archive:
                    for member in archive.infolist():
                        name = member.filename
                        # Linux's attach helper stays: without it debugpy logs that it is missing.
                        skipped = name.endswith(_SKIPPED_SUFFIXES) and "_linux_" not in name
                        if member.is_dir() or not name.startswith("debugpy/") or skipped:
                            continue
                        _add(tar, posixpath.join("python/lib", name), archive.read(member), 0o644)
            except (OSError, zipfile.BadZipFile) as exc:
                raise LambdaImageError(f"cannot read {wheel} ({exc}): delete it, and it is downloaded again") from None
        _archives[wheel] = buffer.getvalue()
    return _archives[wheel]


def _add(tar: tarfile.TarFile, name: str, data: bytes, mode: int) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode, info.uid, info.gid = len(data), mode, 0, 0
    tar.addfile(info, io.BytesIO(data))


NAME = "debug"  # the addition's name on a function


def attach(function: LambdaFunction, setting: str | bool | None = "auto") -> LambdaFunction:
    """Start `function` ready for a debugger: `setting` is auto, python or
    node, optionally `:PORT` on the host (off/None/False: no debugger). The
    plugin's fixtures call this for lambda_debug, --lambda-debug and the
    marker's debug=."""
    parsed = parse_debug(setting)
    if parsed is None:
        return function.without_addition(NAME)
    return function.with_addition(NAME, functools.partial(_addition, parsed))


def address(function: LambdaFunction) -> tuple[str, int] | None:
    """Where a debugger attaches to the started `function` (None: not debugging)."""
    if NAME not in function.additions:
        return None
    for port in (PYTHON_PORT, NODE_PORT):
        found = function.published_address(port)
        if found is not None:
            return found
    return None


LISTENING = "pytest-lambda-image: debugpy listens"  # what sitecustomize.py prints in the runtime
CONFIRM_AFTER_S = 15.0  # after the first invoke is sent: the runtime has started by then


def _confirm_debugpy(function: LambdaFunction) -> None:
    """Say so when the runtime started without debugpy (its bootstrap never
    ran AWS_LAMBDA_EXEC_WRAPPER): otherwise the user waits on a port where
    nothing listens."""
    while function.collector.issued == 0:  # the runtime starts at the first invoke
        if not function.is_running():
            return
        time.sleep(0.5)
    deadline = time.monotonic() + CONFIRM_AFTER_S
    while time.monotonic() < deadline:
        time.sleep(0.5)
        if LISTENING in function.logs():
            return
        if not function.is_running():
            return
    announce(
        f"lambda debug: {function.function_name}'s runtime started without debugpy: its entrypoint does not run "
        f"{EXEC_WRAPPER} (AWS's /lambda-entrypoint.sh does); nothing listens for a debugger"
    )


def _honours_wrapper(entrypoint: tuple[str, ...] | None) -> bool:
    """AWS's base images (and the stand-ins) start the runtime through a
    bootstrap that runs AWS_LAMBDA_EXEC_WRAPPER; a custom entrypoint may not."""
    return (
        entrypoint is not None and len(entrypoint) > 0 and posixpath.basename(entrypoint[0]) == "lambda-entrypoint.sh"
    )


def _addition(setting: str, function: LambdaFunction, engine: DockerEngine, image: LambdaImage) -> StartAddition:
    from .._runtime.additions import StartAddition
    from .._runtime.function import image_has_file

    debugging = plan(
        setting,
        image_name=image.ref,
        image_env=image.env,
        function_env=function.environment(),
        has_file=lambda path: image_has_file(engine, image, path),
    )

    entrypoint = function.config.entrypoint if function.config.entrypoint is not None else image.entrypoint
    if debugging.kind == "python" and not _honours_wrapper(entrypoint):
        shown = " ".join(entrypoint or ()) or "none"
        debugging = dataclasses.replace(
            debugging,
            caveat=f". The image's entrypoint ({shown}) must start the runtime through {EXEC_WRAPPER}, as "
            "AWS's /lambda-entrypoint.sh does; if nothing listens at the first invoke, it does not",
        )

    def started(started_function: LambdaFunction) -> None:
        found = started_function.published_address(debugging.container_port)
        if found is None:
            raise LambdaImageError(f"{started_function.function_name}: Docker did not publish the debugger's port")
        announce(debugging.attach_message(started_function.function_name, *found))
        if debugging.kind == "python":
            threading.Thread(
                target=_confirm_debugpy, args=(started_function,), name="debugpy-check", daemon=True
            ).start()
        if debugging.kind == "node" and debugging.waits:
            from .node_inspector import Releaser

            def alive() -> bool:
                return started_function.published_address(debugging.container_port) == found and (
                    started_function.is_running()
                )

            Releaser(*found, debugging.wait_s, alive, announce).start()

    return StartAddition(
        env=debugging.env,
        ports={debugging.container_port: debugging.host_port},
        volume=DEBUG_DIR if debugging.archive is not None else None,
        archive=debugging.archive,
        invoke_timeout_s=DEBUG_TIMEOUT_S,
        started=started,
    )
