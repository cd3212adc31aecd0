"""The pytest tier. `core` is the `lambda_image` plugin (the function under
test); every other module here is one capability's plugin, registered under
its own name through a pytest11 entry point (`lambda_build`,
`lambda_template`, `lambda_audit`, `lambda_aws`, `lambda_gateway`,
`lambda_debug`, `lambda_relay`), owning its options (`OPTIONS`), marker
keys (`MARKER_KEYS`), fixtures and hooks. They take part in the core's work
through the hooks in hookspecs.py; `option` reads every option in one order
of precedence; `session` holds the state they share."""
