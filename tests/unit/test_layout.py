"""Layer layout under /opt: what each runtime finds there."""

from __future__ import annotations

import pytest

from pytest_lambda_image.audit.filesystem import ImageFilesystem, layers_from_bytes
from pytest_lambda_image.audit.layout import audit_layers, read_layout

from .layers import F, d, layer


def fs_with(*items: F, python: str = "3.12") -> ImageFilesystem:
    runtime = layer(d("var/lang/lib"), d(f"var/lang/lib/python{python}"), F(f"var/lang/lib/python{python}/os.py"))
    return ImageFilesystem(layers_from_bytes([runtime, layer(d("opt"), *items)]))


def test_layout_per_runtime():
    layout = read_layout(
        fs_with(
            F("opt/python/requests/__init__.py"),
            F("opt/python/six.py"),
            F("opt/python/lib/python3.12/site-packages/yaml/__init__.py"),
            F("opt/python/lib/python3.12/site-packages/PyYAML-6.0.dist-info/METADATA"),
            F("opt/nodejs/node_modules/lodash/index.js"),
            F("opt/nodejs/node20/node_modules/@aws-sdk/client-s3/package.json"),
            F("opt/java/lib/gson.jar"),
            F("opt/ruby/gems/3.2.0/gems/json-2.6/x.rb"),
            F("opt/bin/jq", mode=0o755),
            F("opt/lib/libfoo.so"),
            F("opt/my-extension-data/config"),
        )
    )
    assert [(p.runtime, p.path) for p in layout.paths] == [
        ("python", "/opt/python"),
        ("python", "/opt/python/lib/python3.12/site-packages"),
        ("nodejs", "/opt/nodejs/node20/node_modules"),
        ("nodejs", "/opt/nodejs/node_modules"),
        ("java", "/opt/java/lib"),
        ("ruby", "/opt/ruby/gems/3.2.0"),
        ("bin", "/opt/bin"),
        ("lib", "/opt/lib"),
    ]
    assert layout.packages("python") == {"requests", "six", "yaml"}
    assert layout.packages("nodejs") == {"lodash", "@aws-sdk/client-s3"}
    assert layout.python_versions == ("3.12",)
    assert layout.other == ("my-extension-data",)
    assert audit_layers("img", layout, expect={"python": ["requests", "yaml"], "java": True, "ruby": True}).ok


def test_python_layer_for_another_version_is_an_error():
    layout = read_layout(fs_with(F("opt/python/lib/python3.9/site-packages/requests/__init__.py")))
    report = audit_layers("img", layout)
    (finding,) = report.findings
    assert finding.rule == "python-version-mismatch"
    assert "built for Python 3.9, but the image has Python 3.12" in finding.message


def test_expectations_explain_where_the_runtime_looks():
    layout = read_layout(fs_with(F("opt/layer/python/requests/__init__.py")))
    report = audit_layers("img", layout, expect={"python": True})
    (finding,) = report.findings
    assert finding.rule == "missing-layer"
    assert "looks in /opt/python or /opt/python/lib/python3.x/site-packages" in finding.message
    assert "/opt/layer" in finding.message
    report = audit_layers("img", read_layout(fs_with(F("opt/python/six.py"))), expect={"python": ["requests", "six"]})
    assert [f.rule for f in report.findings] == ["missing-layer-package"]
    assert "requests not found" in report.findings[0].message
    report = audit_layers("img", read_layout(fs_with(F("opt/python/six.py"))), expect={"python": False})
    assert [f.rule for f in report.findings] == ["unexpected-layer"]


def test_unknown_runtime_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown layer runtime 'go'"):
        audit_layers("img", read_layout(fs_with()), expect={"go": True})


def test_layer_paths_through_symlinked_directories_are_found():
    """A layer unpacked elsewhere and linked into /opt is where the runtime
    looks: its open() follows the symlink, so the layout does too."""
    layout = read_layout(
        fs_with(
            F("srv/layers/python/lib/python3.12/site-packages/yaml/__init__.py"),
            F("srv/layers/node/lodash/index.js"),
            F("opt/nodejs/.keep"),
            F("opt/python", kind="symlink", link="/srv/layers/python"),
            F("opt/nodejs/node_modules", kind="symlink", link="../../srv/layers/node"),
        )
    )
    assert [(p.runtime, p.path) for p in layout.paths] == [
        ("python", "/opt/python"),
        ("python", "/opt/python/lib/python3.12/site-packages"),
        ("nodejs", "/opt/nodejs/node_modules"),
    ]
    assert layout.packages("python") == {"yaml"} and layout.packages("nodejs") == {"lodash"}
