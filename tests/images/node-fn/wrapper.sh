#!/bin/sh
# AWS_LAMBDA_EXEC_WRAPPER script: gets the runtime's command line as its
# arguments, changes the environment, then runs the runtime.
export WRAPPED_BY=wrapper.sh
export WRAPPER_ARGS="$*"
exec "$@"
