#!/bin/sh
# One argument: the handler (file.export, e.g. index.handler). Locally (no
# Runtime API given) the RIE plays Lambda's part and starts the runtime;
# inside Lambda the runtime starts directly.
if [ $# -ne 1 ]; then
  echo "lambda-entrypoint.sh: expected exactly one argument, the handler (file.export)" >&2
  exit 142
fi
export _HANDLER="$1"
if [ -z "${AWS_LAMBDA_RUNTIME_API}" ]; then
  exec /usr/local/bin/aws-lambda-rie /var/runtime/bootstrap
fi
exec /var/runtime/bootstrap
