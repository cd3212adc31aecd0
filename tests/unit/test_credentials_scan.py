"""The credential scan over in-memory images: where findings point, what is
masked, which files are read how."""

from __future__ import annotations

from pytest_lambda_image.audit.credentials import audit_credentials
from pytest_lambda_image.audit.filesystem import ImageFilesystem, Layer, layers_from_bytes
from pytest_lambda_image.audit.secrets import redact_step
from tests import fakes

from .layers import F, d, layer, whiteout


def scan(*layers: bytes, steps: list[str] | None = None, history: list[dict] | None = None):
    steps = steps or [""] * len(layers)
    fs = ImageFilesystem(layers_from_bytes(layers), [Layer(i, created_by=step) for i, step in enumerate(steps)])
    return audit_credentials("img", {"history": history or [], "config": {}}, fs)


def test_redact_step_masks_every_build_arg_and_what_rules_find():
    secret, password = fakes.secret_access_key(), fakes.password()
    step = f"|3 AWS_SECRET_ACCESS_KEY={secret} DB_PASSWORD={password} EMPTY= /bin/sh -c echo {fakes.github_token()}"
    shown = redact_step(step)
    assert secret not in shown and password not in shown and fakes.github_token() not in shown
    assert shown.startswith(f"|3 AWS_SECRET_ACCESS_KEY={secret[:4]}****{secret[-4:]} DB_PASSWORD=ab****"[:28])
    assert "EMPTY= /bin/sh -c echo ghp_****" in shown


def test_layer_step_in_a_file_finding_is_masked():
    """The layer's history step is part of a file finding's `where`: a RUN that
    saw the key as a build arg must not print it there."""
    secret = fakes.secret_access_key("where")
    step = f"|1 AWS_SECRET_ACCESS_KEY={secret} /bin/sh -c printf ... > /root/.aws/credentials"
    report = scan(
        layer(d("root"), d("root/.aws"), F("root/.aws/credentials", f"aws_secret_access_key = {secret}\n".encode())),
        steps=[step],
    )
    assert report.findings and secret not in report.format()
    assert secret[:4] + "****" + secret[-4:] in report.findings[0].where


def test_history_where_masks_other_build_args_too():
    password = fakes.password("other")
    history = [{"created_by": f"|2 DB_PASSWORD={password} KEY_ID={fakes.access_key_id()} /bin/sh -c make"}]
    report = scan(layer(F("x", b"")), history=history)
    assert {f.rule for f in report.findings} == {"aws-access-key-id", "generic-secret"}
    assert password not in report.format()


def test_deleted_file_is_found_with_its_fate():
    key = fakes.access_key_id("deleted")
    report = scan(layer(d("app"), F("app/key.txt", key.encode())), layer(whiteout("app/key.txt")))
    (finding,) = report.findings
    assert finding.where.startswith("/app/key.txt in layer 0") and "deleted in layer 1" in finding.where


def test_binaries_and_utf16_files_are_read():
    key = fakes.access_key_id("bin")
    token = fakes.github_token("u16")
    report = scan(
        layer(
            F("bootstrap", b"\x7fELF\0\0\0" + key.encode() + b"\0", mode=0o755),
            F("app/.env", f"GITHUB_TOKEN={token}\n".encode("utf-16")),
            F("app/blob.bin", f"\0DB_PASSWORD={fakes.password()}\n".encode()),  # generic rules skip binaries
        )
    )
    assert sorted((f.rule, f.path) for f in report.findings) == [
        ("aws-access-key-id", "/bootstrap"),
        ("github-token", "/app/.env"),
    ]


def test_packages_pip_installed_next_to_the_code_count_as_vendored():
    record = b"botocore/data/paginators.json,sha256=x,10\nbotocore-1.0.dist-info/RECORD,,\n"
    report = scan(
        layer(
            d("var"), d("var/task"),
            F("var/task/botocore/data/paginators.json", b'{"db_password": "Sup3rS3cretValue9"}'),
            F("var/task/botocore-1.0.dist-info/RECORD", record),
            F("var/task/settings.json", f'{{"db_password": "{fakes.password()}"}}'.encode()),
        )
    )  # fmt: skip
    assert [(f.rule, f.path) for f in report.findings] == [("generic-secret", "/var/task/settings.json")]


def test_redact_step_buildkit_form_and_values_with_spaces():
    password = fakes.password("bk")
    shown = redact_step(f"RUN |2 DB_PASS={password} PHRASE=correct horse battery staple /bin/sh -c make # buildkit")
    assert password not in shown and "horse" not in shown
    assert shown.startswith("RUN |2 DB_PASS=") and " PHRASE=" in shown and shown.endswith("/bin/sh -c make # buildkit")


def test_a_token_used_as_a_label_name_is_masked_there_too():
    token = fakes.github_token("label")
    fs = ImageFilesystem(layers_from_bytes([layer(F("x", b""))]))
    report = audit_credentials("img", {"config": {"Labels": {token: "1"}}}, fs)
    assert report.findings and token not in report.format() and token not in report.findings[0].path


def test_unreadable_files_are_reported_not_passed():
    fs = ImageFilesystem(layers_from_bytes([layer(F("app/a.txt", b"data"))]))
    fs._tars[0].close()  # as if the archive were gone
    fs._tars[0].fileobj = None
    report = audit_credentials("img", {}, fs)
    assert [(f.rule, f.severity) for f in report.findings] == [("unreadable-files", "error")]
    assert not report.ok


def scan_windowed(*layers: bytes, window: int):
    fs = ImageFilesystem(layers_from_bytes(layers), [Layer(i) for i in range(len(layers))])
    return audit_credentials("img", {"history": [], "config": {}}, fs, max_file_bytes=window)


def test_a_large_file_is_read_in_overlapping_windows_never_skipped():
    window = 256 * 1024
    filler = b"var a=function(){return 1};\n" * 40_000  # ~1.1 MB of minified-looking code
    key = fakes.access_key_id("bundle")
    straddling = fakes.provider_tokens("bundle")["stripe-secret-key"]
    at = window - 10  # the Stripe key starts 10 bytes before the first window ends
    bundle = filler[:at] + straddling.encode() + filler[at:] + f'const k="{key}";'.encode()
    report = scan_windowed(layer(d("var"), d("var/task"), F("var/task/bundle.js", bundle)), window=window)

    assert sorted(f.rule for f in report.findings) == ["aws-access-key-id", "stripe-secret-key"]
    assert "1 over 0 MiB read in windows" in report.checked  # (a window under 1 MiB, for the test)


def test_utf16_files_are_windowed_on_whole_code_units():
    token = fakes.github_token("u16big")
    text = ("x = 1\n" * 30_000 + f"GITHUB_TOKEN={token}\n").encode("utf-16")
    report = scan_windowed(layer(F("app.env", text)), window=64 * 1024 + 1)
    assert [f.rule for f in report.findings] == ["github-token"]


def test_first_party_code_in_a_layers_site_packages_is_read_strictly():
    site = "opt/python/lib/python3.11/site-packages"
    password, key = fakes.password("layer"), fakes.private_key("layer")
    record = b"requests/api.py,sha256=x,10\nrequests-2.0.dist-info/RECORD,,\n"
    report = scan(
        layer(
            d("opt"), d("opt/python"), d("opt/python/lib"), d("opt/python/lib/python3.11"), d(site),
            F(f"{site}/mypkg/settings.py", f'DB_PASSWORD = "{password}9Zq"\n'.encode()),
            F(f"{site}/mypkg/key.pem", key.encode()),
            F(f"{site}/requests/api.py", b'password = "Sup3rS3cretValue9"\n'),  # a RECORD lists it: vendored
            F(f"{site}/requests-2.0.dist-info/RECORD", record),
        )
    )  # fmt: skip
    assert sorted((f.rule, f.path) for f in report.findings) == [
        ("generic-secret", f"/{site}/mypkg/settings.py"),
        ("private-key", f"/{site}/mypkg/key.pem"),
    ]


def test_a_streamed_scan_finds_what_the_seekable_scan_finds():
    """Read as a stream, a RECORD can come after the files it lists (here in a
    later layer): the scan keeps both readings and decides at the end."""
    import io
    import tarfile

    from pytest_lambda_image.audit.credentials import StreamScanner, scan_credentials

    site = "opt/python/lib/python3.11/site-packages"
    tokens = fakes.provider_tokens("stream")
    vendored_key, so_secret = fakes.access_key_id("v"), fakes.secret_access_key("so")
    layers = [
        layer(
            d("opt"), d("opt/python"), d("opt/python/lib"), d("opt/python/lib/python3.11"), d(site),
            F(f"{site}/vendor_pkg/api.py", f'password = "Sup3rS3cretValue9"\nkey = "{vendored_key}"\n'.encode()),
            F(f"{site}/vendor_pkg/_speedups.so", b"\x7fELF\0\0" + f"aws_secret_access_key={so_secret}".encode()),
            F(f"{site}/mypkg/settings.py", f'DB_PASSWORD = "{fakes.password("stream")}9Zq"\n'.encode()),
            F("opt/lib/libmine.so", b"\x7fELF\0\0" + tokens["stripe-secret-key"].encode() + b"\0" * 5000),
            F("var/task/bundle.js", ("x=1;\n" * 3000 + f'k="{tokens["slack-token"]}"\n').encode()),
        ),
        layer(F(f"{site}/vendor_pkg-1.0.dist-info/RECORD", b"vendor_pkg/api.py,,\nvendor_pkg/_speedups.so,,\n")),
    ]  # fmt: skip
    fs = ImageFilesystem(layers_from_bytes(layers), [Layer(i) for i in range(len(layers))])
    seekable = scan_credentials({}, fs)

    scanner = StreamScanner()
    for index, blob in enumerate(layers):
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r|") as tar:
            for member in tar:
                if member.isreg():
                    scanner.visit(f"layer{index}", member, tar.extractfile(member))
    streamed = scanner.finish({}, fs, [f"layer{i}" for i in range(len(layers))])

    def seen(scan):
        return sorted((c.finding.rule, c.finding.path, c.finding.where) for c in scan.candidates)

    assert seen(streamed) == seen(seekable)
    assert {(rule, path.rsplit("/", 1)[-1]) for rule, path, _ in seen(streamed)} == {
        ("aws-access-key-id", "api.py"),  # a RECORD lists it: only unambiguous formats count there
        ("aws-secret-access-key", "_speedups.so"),  # a listed binary is read as vendored
        ("generic-secret", "settings.py"),
        ("stripe-secret-key", "libmine.so"),
        ("slack-token", "bundle.js"),
    }
    assert streamed.files == seekable.files == 6
