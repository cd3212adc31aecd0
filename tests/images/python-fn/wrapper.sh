#!/bin/sh
# An AWS_LAMBDA_EXEC_WRAPPER: changes the environment, then runs the runtime.
export WRAPPED_BY=wrapper.sh
exec "$@"
