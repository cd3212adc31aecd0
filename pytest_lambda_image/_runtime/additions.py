"""The runtime's one extension point. A capability (the trace relay, the
debugger, ...) changes a starting function only through a `StartAddition`,
returned by its provider when the function starts:

- `env`: variables on top of the function's own;
- `ports`: container ports to publish (with a fixed host port, or None);
- `volume` + `archive`: a volume with files copied in before the start (the
  root filesystem is read-only under fidelity);
- `helpers`: host binaries the container gets at these paths, all under
  HELPER_DIR (mounted read-only from a local engine, copied into a volume on a
  remote one);
- `launch`: a wrapper in front of the entrypoint, given where the RIE is, its
  flags and the bootstrap it starts; returns the container's entrypoint and
  command (one capability at most may wrap the launch);
- `invoke_headers`: headers added to each invoke, given its trace id;
- `invoke_timeout_s`: the invoke timeout the capability needs (the debugger
  holds a runtime at a breakpoint);
- `started`: called once the function listens.

The runtime never imports a capability. A bare `LambdaFunction` starts with
the providers installed under the `pytest_lambda_image.additions` entry-point
group (this distribution installs the trace relay there); the pytest tier
starts its functions with none of those and lets each capability plugin attach
its own, so `-p no:<plugin>` switches a capability off.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from .rie import Launch

if TYPE_CHECKING:
    from .engine import DockerEngine
    from .function import LambdaFunction
    from .image import LambdaImage

HELPER_DIR = "/aws-lambda"  # where the RIE and capabilities' helper binaries go in the container
ENTRY_POINT_GROUP = "pytest_lambda_image.additions"

LaunchWrapper = Callable[[str, Sequence[str], Sequence[str]], Launch]  # (rie, rie flags, bootstrap) -> Launch


@dataclass(frozen=True)
class StartAddition:
    """What one capability adds to a starting function (see the module's doc)."""

    env: Mapping[str, str] = field(default_factory=dict)
    ports: Mapping[int, int | None] = field(default_factory=dict)
    volume: str | None = None
    archive: bytes | None = None  # a tar, put into `volume`
    helpers: Mapping[str, Path] = field(default_factory=dict)
    launch: LaunchWrapper | None = None
    invoke_headers: Callable[[str], Mapping[str, str]] | None = None
    invoke_timeout_s: int | None = None
    started: Callable[[LambdaFunction], None] | None = None

    def __post_init__(self) -> None:
        for at in self.helpers:
            if not at.startswith(HELPER_DIR + "/") or "/" in at[len(HELPER_DIR) + 1 :]:
                raise ConfigError(f"helper {at!r}: helpers go directly under {HELPER_DIR}/")


# Called at start with the function, its engine and its image.
AdditionProvider = Callable[["LambdaFunction", "DockerEngine", "LambdaImage"], StartAddition]

_installed: dict[str, AdditionProvider] | None = None


def installed() -> dict[str, AdditionProvider]:
    """The providers installed under ENTRY_POINT_GROUP, by name (loaded once)."""
    global _installed
    if _installed is None:
        from importlib.metadata import entry_points

        if sys.version_info >= (3, 10):
            found = list(entry_points(group=ENTRY_POINT_GROUP))
        else:  # the 3.9 API: a mapping by group
            found = list(entry_points().get(ENTRY_POINT_GROUP, ()))
        _installed = {point.name: point.load() for point in found}
    return dict(_installed)


def one_launch(additions: Sequence[StartAddition]) -> LaunchWrapper | None:
    """The launch wrapper of the additions, if any: two cannot both be PID 1."""
    wrappers = [addition.launch for addition in additions if addition.launch is not None]
    if len(wrappers) > 1:
        raise ConfigError("two capabilities wrap the function's launch: only one can run in front of the RIE")
    return wrappers[0] if wrappers else None
