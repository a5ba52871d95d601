"""Lambda's context and events, stubbed from files (no AWS, no moto)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._project import project_root


@dataclass
class LambdaContext:
    """What a handler reads of Lambda's context object."""

    function_name: str = "test-function"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 256
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-4000-8000-000000000000"
    log_group_name: str = "/aws/lambda/test-function"
    log_stream_name: str = "2026/01/01/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def load_event(name: str, *, events: str | Path | None = None) -> dict[str, Any]:
    """An event from the project's `events/` (or `events`), by file name with or without `.json`."""
    folder = Path(events) if events is not None else project_root() / "events"
    path = folder / (name if name.endswith(".json") else f"{name}.json")
    return json.loads(path.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
