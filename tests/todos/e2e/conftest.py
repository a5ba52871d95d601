"""End-to-end fixtures: a deployed stack, found by name in AWS_SAM_STACK_NAME.

    AWS_SAM_STACK_NAME=neonkit-pr-42 python -m pytest tests/todos/e2e

The stack's Outputs (ApiUrl, ImportQueueUrl, function names) come from CloudFormation's
DescribeStacks with the caller's AWS credentials; the API is called over HTTPS. Without
AWS_SAM_STACK_NAME every test here is skipped, with that reason.
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
import uuid
from dataclasses import dataclass
from typing import Any

import pytest

STACK = os.environ.get("AWS_SAM_STACK_NAME", "")
NO_STACK = "AWS_SAM_STACK_NAME is not set: no deployed stack to test (the preview workflow sets it)"
needs_stack = pytest.mark.skipif(not STACK, reason=NO_STACK)


@pytest.fixture(scope="session")
def outputs() -> dict[str, str]:
    """The deployed stack's Outputs, by key."""
    import boto3

    stacks = boto3.client("cloudformation").describe_stacks(StackName=STACK)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass(frozen=True)
class Api:
    """The deployed HTTP API, called over HTTPS with urllib."""

    base: str

    def call(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> Reply:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base.rstrip("/") + path,
            data=data,
            method=method,
            headers={"Content-Type": "application/json", **(headers or {})},
        )
        if not request.full_url.startswith("https://"):
            raise ValueError(f"the API URL must be https, got {self.base!r}")
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return _reply(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return _reply(error.code, error.headers, error.read())

    def eventually(self, path: str, ready: Any, *, timeout: float = 90.0) -> Reply:
        """GET `path` until `ready(reply)` holds (asynchronous work: a queue, a schedule)."""
        deadline = time.monotonic() + timeout
        while True:
            reply = self.call("GET", path)
            if ready(reply) or time.monotonic() > deadline:
                return reply
            time.sleep(3)


def _reply(status: int, headers: Any, raw: bytes) -> Reply:
    return Reply(
        status, {k.lower(): v for k, v in headers.items()}, json.loads(raw) if raw else None
    )


@pytest.fixture(scope="session")
def api(outputs: dict[str, str]) -> Api:
    return Api(outputs["ApiUrl"])


@pytest.fixture
def tag() -> str:
    """A tag of this test's own, so that its todos are found among everyone's."""
    return f"e2e-{uuid.uuid4().hex[:12]}"


def invoke(function_name: str, payload: dict[str, Any]) -> Any:
    """Invoke a deployed function synchronously; its result, or its error raised."""
    import boto3

    response = boto3.client("lambda").invoke(
        FunctionName=function_name, Payload=json.dumps(payload).encode()
    )
    result = json.loads(response["Payload"].read() or b"null")
    if "FunctionError" in response:
        raise AssertionError(f"{function_name} failed: {result}")
    return result
