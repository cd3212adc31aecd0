"""The reference pages, generated from the code itself.

Directives:

``.. lambda-api:: MODULE``
    ``automodule`` of MODULE with its ``__all__``, in that order (or the
    names given with ``:members:``). A name already documented on the page
    under another module (the same object, exported twice) is listed as a
    link instead of being documented again. Every name asked for must come
    out documented, else the build warns (an error under ``-W``).

``.. lambda-options::``, ``.. lambda-fixtures::``, ``.. lambda-markers::``
    The options, fixtures and ``lambda_function`` marker of every capability
    plugin. The plugins are the ``pytest11`` entry points whose module is
    under ``pytest_lambda_image.`` (so a new capability plugin shows up here
    without an edit of the docs); from each module:

    * ``OPTIONS``: ``pytest_lambda_image._plugin.option.Option`` declarations
      (a module without it declares no option);
    * ``MARKER_KEYS``: marker keyword -> help, the keywords that capability
      takes in ``@pytest.mark.lambda_function(...)`` (optional);
    * its fixtures: the module-level pytest fixture functions (those whose
      name starts with ``_`` are private and left out);
    * the markers it registers, as ``pytest --markers`` lists them with the
      plugins and without them.

    A plugin module that cannot be imported, or an entry point list that
    differs from pyproject.toml's (an install older than the tree: run
    ``pip install -e .``), is a warning, so ``-W`` fails the build.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import inspect
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from docutils import nodes
from docutils.parsers.rst import directives
from docutils.statemachine import StringList
from sphinx.application import Sphinx
from sphinx.util import logging
from sphinx.util.docstrings import prepare_docstring
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

logger = logging.getLogger(__name__)

PACKAGE = "pytest_lambda_image"
GROUP = "pytest11"
KINDS = {
    "string": "string",
    "linelist": "list of lines (the flag is repeatable; its values come after the ini option's)",
    "switch": "switch (a flag without a value; the ini option takes true or false)",
}


# -- the plugins ------------------------------------------------------------------------


@dataclass
class Plugin:
    name: str  # the entry point: what `-p no:NAME` switches off
    module_name: str
    module: ModuleType | None = None
    options: tuple[Any, ...] = ()
    marker_keys: dict[str, str] = field(default_factory=dict)
    fixtures: list[Fixture] = field(default_factory=list)


@dataclass
class Fixture:
    name: str
    scope: str
    doc: str
    plugin: str


def _entry_points() -> list[tuple[str, str]]:
    found = []
    for ep in importlib.metadata.entry_points(group=GROUP):
        if ep.value.startswith(PACKAGE + ".") and (ep.name, ep.value) not in found:
            found.append((ep.name, ep.value))
    return found


def _declared_entry_points(confdir: str) -> list[tuple[str, str]] | None:
    """pyproject.toml's pytest11 entry points, None if it cannot be read here."""
    pyproject = Path(confdir).parent / "pyproject.toml"
    try:
        import tomllib
    except ImportError:  # Python < 3.11: no check
        return None
    try:
        data = tomllib.loads(pyproject.read_text())
    except (OSError, ValueError):
        return None
    declared = data.get("project", {}).get("entry-points", {}).get(GROUP, {})
    return [(name, value) for name, value in declared.items() if value.startswith(PACKAGE + ".")]


def _fixtures_of(module: ModuleType, plugin: str) -> list[Fixture]:
    fixtures = []
    for attr, value in vars(module).items():
        found = _fixture(value)
        if found is None:
            continue
        marker, function = found
        name = getattr(marker, "name", None) or attr
        if name.startswith("_") or getattr(function, "__module__", module.__name__) != module.__name__:
            continue  # private, or another plugin's fixture imported here
        scope = getattr(marker, "scope", "function")
        if callable(scope):
            scope = "dynamic"
        fixtures.append(Fixture(name, str(scope), inspect.getdoc(function) or "", plugin))
    return fixtures


def _fixture(value: Any) -> tuple[Any, Any] | None:
    """(the fixture marker, the wrapped function) of a pytest fixture
    function, None for anything else: pytest >= 8.4's
    FixtureFunctionDefinition, or an older pytest's marked function."""
    try:
        from _pytest.fixtures import FixtureFunctionDefinition
    except ImportError:
        FixtureFunctionDefinition = None
    if FixtureFunctionDefinition is not None and isinstance(value, FixtureFunctionDefinition):
        return value._fixture_function_marker, value._get_wrapped_function()
    if not callable(value):
        return None
    marker = getattr(value, "_fixture_function_marker", None) or getattr(value, "_pytestfixturefunction", None)
    if marker is None:
        return None
    wrapped = getattr(value, "__pytest_wrapped__", None)
    return marker, getattr(wrapped, "obj", None) or getattr(value, "__wrapped__", value)


def load_plugins(app: Sphinx) -> list[Plugin]:
    """The capability plugins, imported once per build."""
    cached = getattr(app, "_lambda_plugins", None)
    if cached is not None:
        return cached
    installed = _entry_points()
    declared = _declared_entry_points(app.confdir)
    if declared is not None and sorted(declared) != sorted(installed):
        logger.warning(
            "lambda_reference: the installed pytest11 entry points %s differ from pyproject.toml's %s: "
            "reinstall the package (pip install -e .) so that the reference shows the tree's plugins",
            installed,
            declared,
        )
    if not installed:
        logger.warning("lambda_reference: no pytest11 entry point of %s is installed", PACKAGE)
    if declared:  # pyproject.toml's order: the core first
        order = [name for name, _ in declared]
        installed.sort(key=lambda entry: order.index(entry[0]) if entry[0] in order else len(order))
    plugins = []
    for name, module_name in installed:
        plugin = Plugin(name, module_name)
        plugins.append(plugin)
        try:
            plugin.module = importlib.import_module(module_name)
        except Exception as exc:  # noqa: BLE001 (any import failure is reported, and -W fails the build)
            logger.warning("lambda_reference: plugin %s (%s) cannot be imported: %r", name, module_name, exc)
            continue
        plugin.options = tuple(getattr(plugin.module, "OPTIONS", ()))
        plugin.marker_keys = dict(getattr(plugin.module, "MARKER_KEYS", {}))
        plugin.fixtures = _fixtures_of(plugin.module, name)
        _check_options(plugin)
    app._lambda_plugins = plugins  # type: ignore[attr-defined]
    return plugins


def _check_options(plugin: Plugin) -> None:
    try:
        from pytest_lambda_image._plugin.option import Option
    except ImportError as exc:
        if plugin.options:
            logger.warning("lambda_reference: %s declares OPTIONS but Option cannot be imported: %r", plugin.name, exc)
        return
    for option in plugin.options:
        if not isinstance(option, Option):
            logger.warning("lambda_reference: %s: OPTIONS holds %r, not an Option", plugin.name, option)


# -- rst helpers ------------------------------------------------------------------------


def escape(text: str) -> str:
    """Plain text, as pytest --help shows it: no rst markup."""
    return re.sub(r"([\\`*_|\[\]<>:])", r"\\\1", " ".join(str(text).split()))


def literal(text: str) -> str:
    text = str(text)
    if not text.strip() or "``" in text or text != text.strip() or text.endswith("`"):
        return escape(text)
    return f":literal:`{text.replace(chr(92), chr(92) * 2).replace('`', chr(92) + '`')}`"


def indent(lines: list[str], by: str = "   ") -> list[str]:
    return [by + line if line else "" for line in lines]


class GeneratedDirective(SphinxDirective):
    def render(self, lines: list[str]) -> list[nodes.Node]:
        _generated_docs(self.env).add(self.env.docname)
        container = nodes.container()
        container.document = self.state.document
        nested_parse_with_titles(self.state, StringList(lines, source=f"<generated by {self.name}>"), container)
        return container.children

    @property
    def plugins(self) -> list[Plugin]:
        return load_plugins(self.env.app)


def _plugin_line(plugin: Plugin) -> str:
    return (
        f"From the plugin {literal(plugin.name)} ({literal(plugin.module_name)}): "
        f"{literal('-p no:' + plugin.name)} switches it off."
    )


def _heading(title: str) -> list[str]:
    return [title, "-" * len(title), ""]


def _plugin_heading(plugin: Plugin) -> list[str]:
    return [*_heading(f"Plugin {literal(plugin.name)}"), _plugin_line(plugin), ""]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    """A list-table: the header row, then the rows (cells already marked up)."""
    lines = [".. list-table::", "   :header-rows: 1", ""]
    for row in [header, *rows]:
        lines += [("   * - " if i == 0 else "     - ") + cell for i, cell in enumerate(row)]
    return [*lines, ""]


# -- options ----------------------------------------------------------------------------


def _flag_form(option: Any) -> str:
    cli = option.cli
    if option.kind == "switch":
        return cli
    metavar = option.metavar or ("|".join(option.choices) if option.choices else "VALUE")
    if option.const is not None:
        return f"{cli}[={metavar}]"
    return f"{cli}={metavar}"


class OptionsDirective(GeneratedDirective):
    """Every option of every capability plugin: a summary table, then one
    entry per option (its ``:confval:`` target), grouped by plugin."""

    def run(self) -> list[nodes.Node]:
        plugins = [plugin for plugin in self.plugins if plugin.options]
        if not plugins:
            logger.info("lambda_reference: no plugin declares OPTIONS yet")
            return []
        rows = [
            [f":confval:`{option.name}`", literal(_flag_form(option)), literal(plugin.name)]
            for plugin in plugins
            for option in plugin.options
        ]
        lines = _table(["ini option", "CLI", "plugin"], rows)
        for plugin in plugins:
            lines += _plugin_heading(plugin)
            for option in plugin.options:
                lines += [f".. confval:: {option.name}", f"   :type: {escape(KINDS.get(option.kind, option.kind))}"]
                if option.default is not None:
                    lines.append(f"   :default: {literal(option.default)}")
                lines += ["", "   " + escape(option.help), ""]
                fields = [f":CLI: {literal(_flag_form(option))}"]
                if option.choices:
                    fields.append(":Choices: " + ", ".join(literal(choice) for choice in option.choices))
                if option.const is not None:
                    fields.append(f":Bare flag: {literal(option.cli)} means {literal(option.const)}")
                fields.append(f":Environment: {literal(option.env)}" if option.env else ":Environment: none")
                fields.append(f":Plugin: {literal(plugin.name)} ({literal('-p no:' + plugin.name)} switches it off)")
                lines += [*indent(fields), ""]
        return self.render(lines)


# -- fixtures ---------------------------------------------------------------------------


class FixturesDirective(GeneratedDirective):
    def run(self) -> list[nodes.Node]:
        plugins = [plugin for plugin in self.plugins if plugin.fixtures]
        if not plugins:
            logger.warning("lambda_reference: no plugin module defines a fixture")
            return []
        rows = [
            [f":fixture:`{fixture.name}`", escape(fixture.scope), literal(plugin.name)]
            for plugin in plugins
            for fixture in plugin.fixtures
        ]
        lines = _table(["fixture", "scope", "plugin"], rows)
        for plugin in plugins:
            lines += _plugin_heading(plugin)
            for fixture in plugin.fixtures:
                lines += [f".. fixture:: {fixture.name}", "", f"   :Scope: {escape(fixture.scope)}", ""]
                doc = prepare_docstring(fixture.doc) if fixture.doc else ["(no docstring)", ""]
                lines += [*indent(doc), ""]
        return self.render(lines)


# -- markers ----------------------------------------------------------------------------


def _registered_markers(plugins: list[Plugin]) -> dict[str, str]:
    """name -> `pytest --markers` line, for the markers the plugins register
    (those listed with them that are not listed without them)."""

    def markers(*args: str) -> dict[str, str] | None:
        with tempfile.TemporaryDirectory() as empty:
            ini = Path(empty, "pytest.ini")
            ini.write_text("[pytest]\n")
            env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
            run = subprocess.run(
                [sys.executable, "-m", "pytest", "--markers", "-c", str(ini), "--rootdir", empty, *args],
                cwd=empty,
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
            )
        if run.returncode != 0:
            logger.warning("lambda_reference: pytest --markers %s failed: %s", " ".join(args), run.stderr[-2000:])
            return None
        found = {}
        for line in run.stdout.splitlines():
            if line.startswith("@pytest.mark."):
                spec = line[len("@pytest.mark.") :]
                found[re.split(r"[(:]", spec, maxsplit=1)[0]] = spec
        return found

    with_plugins = markers("-p", "no:cacheprovider")
    without = markers("-p", "no:cacheprovider", *(arg for plugin in plugins for arg in ("-p", f"no:{plugin.name}")))
    if with_plugins is None or without is None:
        return {}
    return {name: spec for name, spec in with_plugins.items() if name not in without}


def _split_marker(spec: str) -> tuple[str, str]:
    """`name(args): help` -> ("name(args)", "help")."""
    depth = 0
    for index, char in enumerate(spec):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == ":" and depth == 0:
            return spec[:index], spec[index + 1 :].strip()
    return spec, ""


class MarkersDirective(GeneratedDirective):
    def run(self) -> list[nodes.Node]:
        plugins = [plugin for plugin in self.plugins if plugin.module is not None]
        registered = _registered_markers(plugins)
        if not registered:
            logger.warning("lambda_reference: the plugins register no marker (pytest --markers)")
        lines: list[str] = []
        for name, spec in sorted(registered.items()):
            signature, help_text = _split_marker(spec)
            lines += [f".. marker:: {name}", "", f"   :Usage: {literal('@pytest.mark.' + signature)}", ""]
            lines += ["   " + escape(help_text), ""]
        keys = [(plugin, key, text) for plugin in plugins for key, text in plugin.marker_keys.items()]
        if keys:
            lines += _heading("Keywords of ``lambda_function``, by plugin")
            rows = [[literal(key), literal(plugin.name), escape(text)] for plugin, key, text in keys]
            lines += _table(["keyword", "plugin", "meaning"], rows)
        return self.render(lines)


# -- the Python API ---------------------------------------------------------------------


class ApiDirective(GeneratedDirective):
    required_arguments = 1
    option_spec = {"members": directives.unchanged_required}  # noqa: RUF012

    def run(self) -> list[nodes.Node]:
        module_name = self.arguments[0]
        try:
            module = importlib.import_module(module_name)
        except Exception as exc:  # noqa: BLE001
            logger.warning("lambda-api: %s cannot be imported: %r", module_name, exc, location=self.get_location())
            return []
        if "members" in self.options:
            names = [name.strip() for name in self.options["members"].split(",") if name.strip()]
        else:
            names = list(getattr(module, "__all__", []))
            if not names:
                logger.warning("lambda-api: %s has no __all__", module_name, location=self.get_location())
        seen: dict[int, str] = self.env.temp_data.setdefault("lambda_api_seen", {})
        documented, elsewhere = [], []
        for name in names:
            try:
                value = getattr(module, name)
            except AttributeError as exc:
                logger.warning("lambda-api: %s.%s: %s", module_name, name, exc, location=self.get_location())
                continue
            shared = inspect.isclass(value) or inspect.isroutine(value)
            if shared and id(value) in seen:
                elsewhere.append((name, seen[id(value)]))
                continue
            documented.append(name)
            if shared:
                seen[id(value)] = f"{module_name}.{name}"
        lines = [f".. automodule:: {module_name}", ""]
        if elsewhere:
            links = ", ".join(f":py:obj:`{name} <{target}>`" for name, target in elsewhere)
            lines += [f"Also exported here, documented above: {links}.", ""]
        for name in documented:
            kind = _kind(getattr(module, name))
            lines.append(f".. auto{kind}:: {module_name}.{name}")
            if kind in ("class", "exception"):
                lines += ["   :members:", "   :undoc-members:"]
            lines.append("")
        result = self.render(lines)
        objects = self.env.get_domain("py").objects
        for name in documented:
            if f"{module_name}.{name}" not in objects:
                logger.warning("lambda-api: %s.%s was not documented", module_name, name, location=self.get_location())
        return result


def _kind(value: Any) -> str:
    """The autodoc directive for a module member."""
    if inspect.isclass(value):
        return "exception" if issubclass(value, BaseException) else "class"
    if inspect.isroutine(value):
        return "function"
    return "data"


def _no_builtin_docstring(app: Sphinx, what: str, name: str, obj: Any, options: Any, lines: list[str]) -> None:
    """A module constant without a doc comment gets no docstring, not its
    type's (autodoc would show dict's or int's)."""
    if what in ("data", "attribute") and type(obj).__module__ == "builtins" and not inspect.isroutine(obj):
        doc = inspect.getdoc(type(obj)) or ""
        if "\n".join(lines).strip() == doc.strip():
            lines.clear()
            undocumented = app.env.temp_data.setdefault("lambda_api_undocumented", [])
            undocumented.append(name)


# -- set-up -----------------------------------------------------------------------------


def _generated_docs(env: Any) -> set[str]:
    """The pages these directives generate: read again on every build, since
    what they show lives in the code, not in the page."""
    if not hasattr(env, "lambda_reference_docs"):
        env.lambda_reference_docs = set()
    return env.lambda_reference_docs


def _outdated(app: Sphinx, env: Any, added: set[str], changed: set[str], removed: set[str]) -> list[str]:
    return sorted(_generated_docs(env) - removed)


def _purge(app: Sphinx, env: Any, docname: str) -> None:
    _generated_docs(env).discard(docname)


def _merge(app: Sphinx, env: Any, docnames: set[str], other: Any) -> None:
    _generated_docs(env).update(_generated_docs(other))


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_object_type("fixture", "fixture", indextemplate="pair: %s; fixture", objname="pytest fixture")
    app.add_object_type("marker", "marker", indextemplate="pair: %s; marker", objname="pytest marker")
    app.add_directive("lambda-api", ApiDirective)
    app.connect("autodoc-process-docstring", _no_builtin_docstring)
    app.add_directive("lambda-options", OptionsDirective)
    app.add_directive("lambda-fixtures", FixturesDirective)
    app.add_directive("lambda-markers", MarkersDirective)
    app.connect("env-get-outdated", _outdated)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
