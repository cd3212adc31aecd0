"""The image itself, before it is pushed: no credentials baked in, within
Lambda's limits, and readable by Lambda's non-root user."""


def test_image_is_safe_to_push(lambda_audit):
    audit = lambda_audit()  # the configured image, read once per session
    audit.assert_no_credentials()
    audit.assert_lambda_limits(strict=True)  # strict: an unreadable-by-lambda warning fails too


def test_function_code_is_in_the_task_root(lambda_audit):
    audit = lambda_audit()
    entry = audit.filesystem.get("/var/task/index.mjs")
    assert entry.is_file and entry.describe() == "0644 root:root"
