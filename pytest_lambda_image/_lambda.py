"""Lambda's facts, one copy each: the limits, the user functions run as, the
variables Lambda reserves, the payload caps and the platforms. Everything that
checks a setting or an image against Lambda reads them from here."""

from __future__ import annotations

import re
from collections.abc import Iterable

# The function's configuration.
MAX_TIMEOUT_S = 900
DEFAULT_TIMEOUT_S = 3
# An on-demand init has its own 10 s, outside the first invoke's timeout; an
# init that takes longer is stopped and run again inside that invoke, init and
# invoke then sharing the function timeout (the execution environment lifecycle).
INIT_BUDGET_S = 10
MIN_MEMORY_MB, MAX_MEMORY_MB = 128, 10240
DEFAULT_MEMORY_MB = 128
MIN_EPHEMERAL_MB, MAX_EPHEMERAL_MB = 512, 10240  # /tmp (EphemeralStorage)
DEFAULT_EPHEMERAL_MB = 512
MAX_ENV_BYTES = 4096  # names and values of the function's variables together, in UTF-8 bytes


def env_bytes(pairs: Iterable[tuple[str, str]]) -> int:
    """The size Lambda checks against MAX_ENV_BYTES: the UTF-8 bytes of every
    name and value (not characters: "é" counts 2)."""
    return sum(len(name.encode()) + len(value.encode()) for name, value in pairs)


LOG_FORMATS = ("Text", "JSON")
# Per execution environment, whatever the memory size.
MAX_OPEN_FILES = 1024  # file descriptors
MAX_TASKS = 1024  # processes and threads together
MB_PER_VCPU = 1769  # CPU grows with memory: 1,769 MB has the equivalent of one vCPU
MAX_VCPUS = 6  # at 10,240 MB
LOG_LEVELS = ("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL")

# Who functions run as: Lambda ignores the image's USER.
LAMBDA_UID, LAMBDA_GID = 993, 990
LAMBDA_USER = f"{LAMBDA_UID}:{LAMBDA_GID}"

# Payloads.
MAX_REQUEST_BYTES = 6 * 1024 * 1024  # synchronous invoke (the RIE truncates instead of refusing)
MAX_ASYNC_REQUEST_BYTES = 1024 * 1024  # InvocationType=Event
MAX_ASYNC_RETRIES = 2  # the default and the maximum of MaximumRetryAttempts
MIN_EVENT_AGE_S, MAX_EVENT_AGE_S = 60, 21600  # MaximumEventAgeInSeconds (the default is the maximum)
ASYNC_RETRY_WAITS_S = (60, 120)  # Lambda waits about 1, then 2 minutes before an async event's retries

# Images and packages.
PLATFORMS = ("linux/amd64", "linux/arm64")  # single-architecture images only
MAX_IMAGE_BYTES = 10 * 1024**3  # uncompressed
MAX_UNZIPPED_BYTES = 262_144_000  # a .zip function and all its layers, unzipped (250 MB)

# The account AWS's own examples (and moto) use, in ARNs and events.
EXAMPLE_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
# A region name: a partition's prefix (aws: us eu ap sa ca me af il mx;
# aws-cn: cn; aws-us-gov: us-gov; the isolated ones: us-iso, us-isob, us-isof,
# eu-isoe; aws-eusc: eusc-de), a direction and a number. A pattern rather
# than a list because AWS opens regions every year (ap-southeast-7, mx-central-1)
# and a list would refuse the newest until a release caught up; prefixes and
# directions change far less often, and still catch `mars-1` or `us-east1`.
REGION_NAME = re.compile(
    r"(?:us|eu|ap|sa|ca|me|af|il|mx|cn|us-gov|us-iso[bf]?|eu-isoe|eusc-de)"
    r"-(?:central|east|west|north|south|northeast|northwest|southeast|southwest)-[1-9][0-9]?"
)

# Lambda refuses these in a function's configuration: it sets them itself.
RESERVED_ENV = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
        "AWS_LAMBDA_METADATA_API",
        "AWS_LAMBDA_METADATA_TOKEN",
        "AWS_LAMBDA_MAX_CONCURRENCY",
        # Not Lambda's, but the RIE's: the plugin sets them from its settings.
        "AWS_LAMBDA_FUNCTION_TIMEOUT",
        "AWS_LAMBDA_FUNCTION_HANDLER",
    }
)
# Also reserved on Lambda, where the execution role provides them. Locally the
# test stands in for the role, so they may be given (never taken from the host
# unless pass_aws_credentials asks for it).
ROLE_CREDENTIAL_ENV = ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN")
