"""The environment variables a function runs with, built like Lambda builds them.

From lowest to highest precedence: a few of this machine's variables (PATH, and AWS
credentials so boto3 can reach real AWS services as under `sam local`), the template's
`Environment.Variables` (with Globals), the `--env-vars` overrides, and Lambda's reserved
variables, which a template cannot set in Lambda either. Nothing else leaks in from the
shell: a function that works here does not depend on the developer's environment.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime

from ._template import Function

__all__ = ["PASSED_THROUGH", "lambda_environment"]

PASSED_THROUGH = (
    "PATH",
    "HOME",  # where boto3 finds ~/.aws
    "TMPDIR",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_CONFIG_FILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)


def lambda_environment(
    function: Function,
    overrides: Mapping[str, str],
    region: str,
    host: Mapping[str, str] | None = None,
) -> dict[str, str]:
    host = os.environ if host is None else host
    environment = {name: host[name] for name in PASSED_THROUGH if name in host}
    environment.update(function.environment)
    environment.update(overrides)
    name = function.logical_id
    today = datetime.now(UTC).strftime("%Y/%m/%d")
    environment.update(
        {
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": f"{function.timeout:g}",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"{today}/[$LATEST]{uuid.uuid4().hex}",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_FORMAT": function.log_format,
            "AWS_REGION": region,
            "AWS_DEFAULT_REGION": region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
            "LAMBDA_TASK_ROOT": str(function.code_dir),
            "_HANDLER": function.handler,
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
            # Not Lambda's, but `sam local` sets it and Powertools reads it (X-Ray off).
            "AWS_SAM_LOCAL": "true",
        }
    )
    if function.log_level:
        environment["AWS_LAMBDA_LOG_LEVEL"] = function.log_level
    return environment
