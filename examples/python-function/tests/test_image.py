"""The image itself, before it is pushed: no credentials baked in, the
extension startable by Lambda's non-root user, within Lambda's limits."""


def test_image_is_safe_to_push(lambda_audit):
    audit = lambda_audit()  # the configured image, read once per session
    audit.assert_no_credentials()
    audit.assert_extensions_executable(expected=["greeter-telemetry"])
    audit.assert_lambda_limits()


def test_extension_registers_and_stays_up(lambda_audit, lambda_function):
    lambda_audit().assert_extensions_register(lambda_function)
