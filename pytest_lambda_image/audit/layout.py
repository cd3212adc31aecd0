"""Where layer content sits under /opt, and whether each runtime looks there.

A zip layer migrated into an image has to land on the path the runtime
searches (AWS "Creating and sharing Lambda layers"): /opt/python and
/opt/python/lib/python3.x/site-packages, /opt/nodejs/node_modules and
/opt/nodejs/nodeNN/node_modules, /opt/java/lib, /opt/ruby/gems/3.x.0 and
/opt/ruby/lib, and /opt/bin, /opt/lib for everything.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .filesystem import ImageFilesystem
from .findings import AuditReport, Finding

CHECK = "layers"
RUNTIMES = ("python", "nodejs", "java", "ruby", "bin", "lib")
_FIXED = (
    ("python", "/opt/python"),
    ("nodejs", "/opt/nodejs/node_modules"),
    ("java", "/opt/java/lib"),
    ("ruby", "/opt/ruby/lib"),
    ("bin", "/opt/bin"),
    ("lib", "/opt/lib"),
)
#: (runtime, directory, versioned child name, path below it)
_VERSIONED = (
    ("python", "/opt/python/lib", re.compile(r"python3\.\d+"), "/site-packages"),
    ("nodejs", "/opt/nodejs", re.compile(r"node\d+"), "/node_modules"),
    ("ruby", "/opt/ruby/gems", re.compile(r"\d+\.\d+\.\d+"), ""),
)
_KNOWN_TOP = {"python", "nodejs", "java", "ruby", "bin", "lib", "extensions"}
_PYTHON_HOMES = ("/var/lang/lib", "/usr/local/lib", "/usr/lib")


@dataclass(frozen=True)
class LayerPath:
    runtime: str
    path: str
    entries: tuple[str, ...]  # names directly in it


@dataclass
class LayerLayout:
    """What each runtime finds under /opt."""

    paths: list[LayerPath] = field(default_factory=list)
    python_versions: tuple[str, ...] = ()  # the Python versions the image has, e.g. ("3.12",)
    other: tuple[str, ...] = ()  # /opt entries no runtime searches (often an extension's own files)

    def for_runtime(self, runtime: str) -> list[LayerPath]:
        return [p for p in self.paths if p.runtime == runtime]

    def packages(self, runtime: str) -> set[str]:
        """Importable names a runtime finds: Python modules and packages, npm
        packages (with their @scope), jar files, gems; files for bin and lib."""
        names: set[str] = set()
        for location in self.for_runtime(runtime):
            for entry in location.entries:
                if runtime == "python":
                    if entry.endswith((".dist-info", ".egg-info", ".pth")) or entry in ("lib", "__pycache__", "bin"):
                        continue
                    names.add(entry.split(".", 1)[0] if entry.endswith((".py", ".so")) else entry)
                elif runtime == "nodejs" and entry.startswith("."):
                    continue
                else:
                    names.add(entry)
        return names

    def describe(self) -> str:
        lines = [f"{p.path} ({p.runtime}): {', '.join(p.entries) or 'empty'}" for p in self.paths]
        if self.other:
            lines.append(f"not on a runtime path: {', '.join('/opt/' + name for name in self.other)}")
        return "\n".join(lines) or "nothing under /opt"


def _runtime_paths(fs: ImageFilesystem) -> list[tuple[str, str]]:
    """(runtime, path) for each place a runtime searches, named under /opt as
    the runtime names it; symlinked directories on the way are followed, as
    the runtime's open() would."""
    found = [(runtime, path) for runtime, path in _FIXED]
    for runtime, parent, versioned, tail in _VERSIONED:
        for child in fs.listdir(parent):
            if versioned.fullmatch(child.name):
                found.append((runtime, f"{parent}/{child.name}{tail}"))
    return [(runtime, path) for runtime, path in found if (entry := fs.resolve(path)) is not None and entry.is_dir]


def read_layout(fs: ImageFilesystem) -> LayerLayout:
    layout = LayerLayout()
    for runtime, path in _runtime_paths(fs):
        names = []
        for child in fs.listdir(path):
            if runtime == "nodejs" and child.name.startswith("@"):  # scoped packages: @scope/name
                names += [f"{child.name}/{pkg.name}" for pkg in fs.listdir(child.path)] or [child.name]
            else:
                names.append(child.name)
        layout.paths.append(LayerPath(runtime, path, tuple(names)))
    layout.paths.sort(key=lambda p: (RUNTIMES.index(p.runtime), p.path))
    layout.other = tuple(e.name for e in fs.listdir("/opt") if e.name not in _KNOWN_TOP)
    versions = set()
    for home in _PYTHON_HOMES:
        for entry in fs.listdir(home):
            match = re.fullmatch(r"python(3\.\d+)", entry.name)
            if match and fs.resolve(f"{home}/{entry.name}/os.py"):
                versions.add(match.group(1))
    layout.python_versions = tuple(sorted(versions, key=lambda v: int(v.split(".")[1])))
    return layout


def audit_layers(
    image: str,
    layout: LayerLayout,
    *,
    expect: dict[str, bool | Iterable[str] | None] | None = None,
) -> AuditReport:
    """Findings for content the runtime will not see, and for `expect`ed
    runtimes (True: some content; a list: those packages) that are missing."""
    findings: list[Finding] = []
    for location in layout.for_runtime("python"):
        match = re.search(r"python(3\.\d+)/site-packages$", location.path)
        if match and layout.python_versions and match.group(1) not in layout.python_versions:
            findings.append(
                Finding(
                    CHECK,
                    "python-version-mismatch",
                    location.path,
                    f"built for Python {match.group(1)}, but the image has Python "
                    f"{', '.join(layout.python_versions)}, which never looks here: rebuild the layer for "
                    f"{layout.python_versions[-1]} or install it into /opt/python",
                    path=location.path,
                )
            )
    for runtime, wanted in (expect or {}).items():
        if runtime not in RUNTIMES:
            raise ValueError(f"unknown layer runtime {runtime!r}: use one of {', '.join(RUNTIMES)}")
        if wanted is None:
            continue
        found = layout.packages(runtime)
        if wanted is False:
            if found:
                findings.append(
                    Finding(CHECK, "unexpected-layer", f"/opt ({runtime})", f"expected none, found {_names(found)}")
                )
            continue
        if wanted is True:
            if not found:
                findings.append(Finding(CHECK, "missing-layer", f"/opt ({runtime})", _missing(runtime, layout)))
            continue
        missing = sorted(set([wanted] if isinstance(wanted, str) else wanted) - found)
        if missing:
            findings.append(
                Finding(
                    CHECK,
                    "missing-layer-package",
                    f"/opt ({runtime})",
                    f"{_names(missing)} not found; {_missing(runtime, layout)}",
                )
            )
    return AuditReport(CHECK, image, findings, checked=f"{len(layout.paths)} runtime paths under /opt")


def _names(names: Iterable[str]) -> str:
    return ", ".join(sorted(names))


def _missing(runtime: str, layout: LayerLayout) -> str:
    present = layout.for_runtime(runtime)
    where = "; ".join(f"{p.path} has {_names(p.entries) or 'nothing'}" for p in present)
    looks = {
        "python": "/opt/python or /opt/python/lib/python3.x/site-packages",
        "nodejs": "/opt/nodejs/node_modules or /opt/nodejs/nodeNN/node_modules",
        "java": "/opt/java/lib",
        "ruby": "/opt/ruby/gems/3.x.0 or /opt/ruby/lib",
        "bin": "/opt/bin",
        "lib": "/opt/lib",
    }[runtime]
    other = f"; /opt also has {', '.join('/opt/' + n for n in layout.other)}" if layout.other else ""
    return f"the {runtime} runtime looks in {looks}" + (f" ({where})" if where else ", and nothing is there") + other
