# Sphinx configuration for pytest-lambda-image's documentation.
#
# Build (CI runs this in scripts/run-tests.sh; warnings are errors):
#
#     .venv/bin/python -m sphinx -W -b html docs docs/_build/html
#
# Why Sphinx and not MkDocs:
# * autodoc imports the real objects, so the names the package exports lazily
#   (pytest_lambda_image/__init__.py's PEP 562 __getattr__) are documented from
#   what `import` gives, and the capability plugins' declarations (OPTIONS,
#   MARKER_KEYS, fixtures, markers) are rendered by a small local extension in
#   plain Python (_ext/lambda_reference.py) instead of typed by hand;
# * -W turns every broken reference (a :ref:, a :doc:, an option or fixture that
#   is gone) and every docstring that does not parse into a failed build;
# * it installs offline from PyPI (the `docs` extra) and its built-in alabaster
#   theme ships with it: no theme assets or plugins fetched from the network.

from __future__ import annotations

import importlib.metadata
import sys
from pathlib import Path

here = Path(__file__).resolve().parent
sys.path.insert(0, str(here / "_ext"))
sys.path.insert(0, str(here.parent))  # the working tree's package, also when it is not installed

project = "pytest-lambda-image"
author = "pytest-lambda-image contributors"
copyright = "pytest-lambda-image contributors"
try:
    release = importlib.metadata.version("pytest-lambda-image")
except importlib.metadata.PackageNotFoundError:
    release = "unknown"
version = release

extensions = [
    "sphinx.ext.autodoc",
    "lambda_reference",
]

root_doc = "index"
exclude_patterns = ["_build"]
# The docstrings write code in single backticks, as Markdown does: render it as code.
default_role = "literal"
highlight_language = "python"

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_class_signature = "mixed"

html_theme = "alabaster"
html_theme_options = {
    "description": "Test AWS Lambda container images locally with pytest",
    "fixed_sidebar": True,
    "page_width": "1100px",
    "sidebar_width": "240px",
}
html_sidebars = {"**": ["about.html", "navigation.html", "relations.html", "searchbox.html"]}
html_show_sourcelink = False
