"""Messages between the server (or `invoke`) and a sandbox process: length-prefixed JSON on pipes.

Each message is a 4-byte big-endian length, then that many bytes of UTF-8 JSON. Pipes rather
than the child's stdout, because the function's own prints and logs go there.
"""

from __future__ import annotations

import json
import os
import select
import struct
import time
from typing import Any

__all__ = ["receive", "send"]

_HEADER = struct.Struct(">I")


def send(fd: int, message: dict[str, Any]) -> None:
    data = json.dumps(message).encode()
    view = memoryview(_HEADER.pack(len(data)) + data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def receive(fd: int, deadline: float | None = None) -> dict[str, Any] | None:
    """The next message; None if the other side closed the pipe.

    `deadline` is a `time.monotonic()` value; past it, TimeoutError.
    """
    header = _read_exactly(fd, _HEADER.size, deadline)
    if header is None:
        return None
    (length,) = _HEADER.unpack(header)
    data = _read_exactly(fd, length, deadline)
    if data is None:
        return None
    message = json.loads(data)
    if not isinstance(message, dict):
        raise ValueError(f"expected a JSON object, got {message!r} instead")
    return message


def _read_exactly(fd: int, size: int, deadline: float | None) -> bytes | None:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        if deadline is not None:
            wait = deadline - time.monotonic()
            if wait <= 0 or not select.select([fd], [], [], wait)[0]:
                raise TimeoutError
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
