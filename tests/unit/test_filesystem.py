"""The image filesystem from layer tars: whiteouts, opaque directories,
replacements, links, and the versions that later layers hid."""

from __future__ import annotations

import pytest

from pytest_lambda_image.audit.filesystem import ImageFilesystem, Layer, layers_from_bytes, normalize
from pytest_lambda_image.audit.permissions import EXECUTE, READ, User, access_problem

from .layers import F, d, layer, link, opaque, whiteout


def build(*layers: bytes) -> ImageFilesystem:
    return ImageFilesystem(layers_from_bytes(layers))


@pytest.mark.parametrize(
    ("raw", "path"), [("./usr/bin/", "/usr/bin"), ("usr/bin", "/usr/bin"), ("./", "/"), ("/a//b/../c", "/a/c")]
)
def test_normalize(raw, path):
    assert normalize(raw) == path


def test_final_view_with_metadata_and_content():
    fs = build(
        layer(d("opt"), d("opt/extensions"), F("opt/extensions/ext", b"#!/bin/sh\n", mode=0o750, uid=993, gid=990))
    )
    entry = fs.get("/opt/extensions/ext")
    assert (entry.kind, entry.mode, entry.uid, entry.gid, entry.size, entry.layer) == ("file", 0o750, 993, 990, 10, 0)
    assert fs.read("/opt/extensions/ext") == b"#!/bin/sh\n"
    assert fs.read(entry, limit=2) == b"#!"
    assert [e.name for e in fs.listdir("/opt/extensions")] == ["ext"]
    assert entry.describe() == "0750 993:990"


def test_whiteout_deletes_a_lower_file_but_keeps_its_version():
    fs = build(
        layer(d("root"), d("root/.aws"), F("root/.aws/credentials", b"secret")),
        layer(whiteout("root/.aws/credentials")),
    )
    assert fs.get("/root/.aws/credentials") is None
    assert fs.listdir("/root/.aws") == []
    ((entry, removal),) = fs.removed()
    assert entry.path == "/root/.aws/credentials" and (removal.how, removal.layer) == ("deleted", 1)
    assert fs.read(entry) == b"secret"  # still shipped in layer 0


def test_whiteout_of_a_directory_removes_the_subtree():
    fs = build(layer(d("a"), d("a/b"), F("a/b/c"), F("a/keep")), layer(whiteout("a/b")))
    assert [e.path for e in fs.walk("/")] == ["/a", "/a/keep"]
    assert {e.path for e, _ in fs.removed()} == {"/a/b/c"}


def test_opaque_directory_hides_lower_children_but_not_its_own():
    fs = build(
        layer(d("app"), F("app/old.py"), F("app/shared.py", b"v1")),
        layer(d("app"), opaque("app"), F("app/new.py"), F("app/shared.py", b"v2")),
    )
    assert [e.name for e in fs.listdir("/app")] == ["new.py", "shared.py"]
    assert fs.read("/app/shared.py") == b"v2"
    # the opaque marker may come after the layer's own files in the tar
    fs = build(layer(d("app"), F("app/old.py")), layer(F("app/new.py"), opaque("app")))
    assert [e.name for e in fs.listdir("/app")] == ["new.py"]


def test_replacing_records_the_old_version():
    fs = build(layer(F("x", b"one")), layer(F("x", b"two", mode=0o755)))
    assert fs.read("/x") == b"two"
    history = fs.history("/x")
    assert [(e.layer, r.how if r else None) for e, r in history] == [(0, "replaced"), (1, None)]
    assert fs.read(history[0][0]) == b"one"


def test_a_file_over_a_directory_replaces_the_subtree():
    fs = build(layer(d("p"), F("p/inner")), layer(F("p", b"now a file")))
    assert fs.get("/p").is_file and fs.get("/p/inner") is None


def test_missing_parent_directories_are_implied():
    fs = build(layer(F("opt/extensions/ext", b"x")))
    assert fs.get("/opt").is_dir and fs.get("/opt/extensions").mode == 0o755


def test_symlinks_resolve_inside_the_image():
    fs = build(
        layer(d("usr"), d("usr/bin"), F("usr/bin/dash", b"ELF"), link("usr/bin/sh", "dash"), link("bin", "usr/bin")),
        layer(
            d("opt"),
            link("opt/abs", "/bin/sh"),
            link("opt/dangling", "/nope"),
            link("opt/loop", "loop"),
            link("opt/up", "../../../../usr/bin/dash"),
        ),
    )
    assert fs.resolve("/bin/sh").path == "/usr/bin/dash"
    assert fs.resolve("/opt/abs").path == "/usr/bin/dash"
    assert fs.resolve("/opt/up").path == "/usr/bin/dash"  # ".." stops at the image root
    assert fs.resolve("/opt/dangling") is None and fs.get("/opt/dangling").is_symlink
    assert fs.resolve("/opt/loop") is None
    assert fs.resolve("/opt/abs", follow=False).is_symlink
    assert fs.read("/bin/sh") == b"ELF"
    assert [e.name for e in fs.listdir("/bin")] == ["dash", "sh"]


def test_hard_links_read_their_source():
    fs = build(
        layer(
            d("usr"),
            F("usr/perl5", b"interp", mode=0o755),
            F("usr/perl", kind="hardlink", link="usr/perl5", mode=0o755),
        )
    )
    entry = fs.get("/usr/perl")
    assert entry.is_file and entry.hardlink and entry.size == 6
    assert fs.read(entry) == b"interp"


def test_layer_descriptions_carry_the_history_step():
    tars = layers_from_bytes([layer(F("a"))])
    fs = ImageFilesystem(
        tars, [Layer(0, diff_id="sha256:" + "ab" * 32, created_by="/bin/sh -c #(nop) COPY file:x in /")]
    )
    assert fs.layers[0].describe() == "layer 0 (abababababab): COPY file:x in /"


def test_permissions_as_lambdas_user():
    fs = build(
        layer(
            d("opt"),
            d("opt/extensions"),
            d("opt/private", mode=0o700),
            F("opt/extensions/root-only", mode=0o700),
            F("opt/extensions/world", mode=0o755),
            F("opt/extensions/group", mode=0o750, gid=990),
            F("opt/extensions/mine", mode=0o700, uid=993),
            F("opt/private/x", mode=0o755),
        )
    )
    assert access_problem(fs, "/opt/extensions/world", READ | EXECUTE) is None
    assert access_problem(fs, "/opt/extensions/group", EXECUTE) is None
    assert access_problem(fs, "/opt/extensions/mine", EXECUTE) is None
    assert "0700 root:root" in access_problem(fs, "/opt/extensions/root-only", EXECUTE)
    assert "directory /opt/private" in access_problem(fs, "/opt/private/x", EXECUTE)
    assert access_problem(fs, "/opt/extensions/root-only", EXECUTE, User(0, 0)) is None


def test_dotdot_applies_after_the_symlink_before_it():
    fs = build(
        layer(d("usr"), d("usr/lib"), F("usr/foo", b"usr"), d("app"), link("app/lib", "/usr/lib"), F("app/foo", b"app"))
    )
    assert fs.resolve("/app/lib/../foo").path == "/usr/foo"


def test_empty_symlink_target_resolves_to_nothing():
    fs = build(layer(link("empty", "")))
    assert fs.resolve("/empty") is None


def test_a_path_written_twice_in_one_layer_is_live():
    fs = build(layer(F("x", b"one"), F("x", b"two")))
    assert fs.removed() == [] and fs.read("/x") == b"two"


def test_permissions_follow_symlink_targets():
    fs = build(layer(
        d("root", mode=0o700), d("root/bin"), F("root/bin/ext", mode=0o755),
        d("opt"), d("opt/extensions"), link("opt/extensions/ext", "/root/bin/ext"),
        d("var"), link("var/task", "/root"),
    ))  # fmt: skip
    assert "directory /root (0700 root:root)" in access_problem(fs, "/opt/extensions/ext", EXECUTE)
    # the directory to chmod is named, not the symlink that led there
    assert "directory /root (0700 root:root)" in access_problem(fs, "/var/task/bin/ext", READ)


def merged_usr(*items: F, usr_mode: int = 0o755) -> ImageFilesystem:
    """Debian's layout: /bin, /lib, /lib64 are symlinks into /usr."""
    return build(layer(
        d("usr", mode=usr_mode), d("usr/bin"), d("usr/lib"), F("usr/bin/dash", mode=0o755),
        link("usr/bin/sh", "dash"), link("bin", "usr/bin"), link("lib", "usr/lib"), *items,
    ))  # fmt: skip


def test_traverse_lists_every_directory_searched_including_a_symlinks_parents():
    fs = merged_usr()
    target, searched = fs.traverse("/bin/sh")
    assert target.path == "/usr/bin/dash"
    assert [e.path for e in searched] == ["/", "/", "/usr", "/usr/bin", "/usr/bin"]
    assert fs.traverse("/bin/sh", follow=False)[0].path == "/usr/bin/sh"
    assert fs.traverse("/bin/nothing")[0] is None


def test_merged_usr_paths_are_checked_on_the_directories_really_walked():
    assert access_problem(merged_usr(), "/bin/sh", EXECUTE) is None
    locked = merged_usr(usr_mode=0o700)
    assert "directory /usr (0700 root:root)" in access_problem(locked, "/bin/sh", EXECUTE)


def test_dotdot_through_a_locked_directory_is_refused_as_the_kernel_does():
    """`/opt/locked/../tools/x` ends in a readable place, but the kernel looked
    `..` up inside /opt/locked, which needs search permission."""
    fs = build(layer(
        d("opt"), d("opt/locked", mode=0o700), d("opt/tools"), F("opt/tools/x", mode=0o755),
        link("opt/shortcut", "locked/../tools/x"),
    ))  # fmt: skip
    assert fs.resolve("/opt/shortcut").path == "/opt/tools/x"
    assert access_problem(fs, "/opt/tools/x", EXECUTE) is None
    assert "directory /opt/locked (0700 root:root)" in access_problem(fs, "/opt/shortcut", EXECUTE)
