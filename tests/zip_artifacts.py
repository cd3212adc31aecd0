"""Real .zip functions and Lambda layers, written at run time as `zip -r`
would write them on Linux (Unix modes in the external attributes)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Union


@dataclass(frozen=True)
class Link:
    target: str


Content = Union[str, bytes, None, tuple[Union[str, bytes, None], int], Link]


def write_zip(path: Path, entries: dict[str, Content]) -> Path:
    """Names ending in / are directories (mode 0755 unless a (None, mode) tuple says otherwise)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            info = zipfile.ZipInfo(name, date_time=(2024, 5, 1, 12, 0, 0))
            info.create_system = 3
            mode = 0o755 if name.endswith("/") else 0o644
            if isinstance(content, tuple):
                content, mode = content
            if isinstance(content, Link):
                info.external_attr = (stat.S_IFLNK | 0o777) << 16
                archive.writestr(info, content.target)
                continue
            kind = stat.S_IFDIR if name.endswith("/") else stat.S_IFREG
            info.external_attr = ((kind | mode) << 16) | (0x10 if name.endswith("/") else 0)
            archive.writestr(info, content or b"")
    return path


EXTENSION = '''#!/usr/bin/env python3
"""An external extension: registers under its file name, then waits for events until SHUTDOWN."""
import json
import os
import urllib.request

API = "http://" + os.environ["AWS_LAMBDA_RUNTIME_API"] + "/2020-01-01/extension"
NAME = os.path.basename(__file__)
request = urllib.request.Request(
    API + "/register",
    data=json.dumps({"events": ["INVOKE", "SHUTDOWN"]}).encode(),
    headers={"Lambda-Extension-Name": NAME},
    method="POST",
)
with urllib.request.urlopen(request) as answer:
    identifier = answer.headers["Lambda-Extension-Identifier"]
print(f"[{NAME}] registered", flush=True)
while True:
    request = urllib.request.Request(API + "/event/next", headers={"Lambda-Extension-Identifier": identifier})
    with urllib.request.urlopen(request) as answer:
        event = json.load(answer)
    if event.get("eventType") == "SHUTDOWN":
        break
'''

HANDLER = """import greeting_lib
import layer_order


def handler(event, context):
    return {
        "greeting": greeting_lib.greet(event.get("name", "world")),
        "library": greeting_lib.__file__.split("/python/", 1)[1],
        "layer_order": layer_order.LAST,
    }
"""


@dataclass(frozen=True)
class MigrationZips:
    """A zip function whose handler imports a library from a layer, and an
    extension layer listed after it (both layers ship layer_order.py: the
    later one wins)."""

    function: Path
    library_layer: Path
    extension_layer: Path
    handler: str = "app.handler"
    extension: str = "zip-ext"

    @property
    def layers(self) -> list[Path]:
        return [self.library_layer, self.extension_layer]


def migration_zips(directory: Path) -> MigrationZips:
    directory.mkdir(parents=True, exist_ok=True)
    library = write_zip(
        directory / "greeting-lib-layer.zip",
        {
            "python/": None,
            "python/lib/python3.11/site-packages/greeting_lib/__init__.py": (
                "def greet(name):\n    return f'Hello, {name}!'\n"
            ),
            "python/lib/python3.11/site-packages/greeting_lib-1.0.dist-info/METADATA": "Name: greeting-lib\n",
            "python/layer_order.py": "LAST = 'greeting-lib-layer'\n",
        },
    )
    extension = write_zip(
        directory / "extension-layer.zip",
        {
            "extensions/": None,
            "extensions/zip-ext": (EXTENSION, 0o755),
            "python/layer_order.py": "LAST = 'extension-layer'\n",
        },
    )
    function = write_zip(directory / "function.zip", {"app.py": HANDLER})
    return MigrationZips(function, library, extension)


def run_from_zips(zips: MigrationZips, event: dict, workdir: Path) -> dict:
    """The zip function as Lambda would run it, without any image: layers
    unzipped in order into one /opt stand-in, the code into a task root,
    and the handler called with Lambda's Python path."""
    opt, task = workdir / "opt", workdir / "task"
    for layer in zips.layers:
        with zipfile.ZipFile(layer) as archive:
            archive.extractall(opt)
    with zipfile.ZipFile(zips.function) as archive:
        archive.extractall(task)
    module, function = zips.handler.rsplit(".", 1)
    code = f"import json, sys, {module}; print(json.dumps({module}.{function}(json.loads(sys.argv[1]), None)))"
    path = os.pathsep.join([str(task), str(opt / "python"), str(opt / "python/lib/python3.11/site-packages")])
    out = subprocess.run(
        [sys.executable, "-c", code, json.dumps(event)],
        env={**os.environ, "PYTHONPATH": path},
        cwd=task,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout)
