"""Messages between the server and a sandbox process: length-prefixed JSON on pipes."""

from __future__ import annotations

import os
import threading
import time

import pytest
from localdev._protocol import receive, send


def test_protocol_round_trip_and_end_of_stream() -> None:
    read, write = os.pipe()
    message = {"event": {"body": "x" * 1_000_000, "text": "café"}, "requestId": "1"}
    sender = threading.Thread(target=send, args=(write, message))  # larger than a pipe holds
    sender.start()
    assert receive(read, deadline=time.monotonic() + 10) == message
    sender.join()
    os.close(write)
    assert receive(read) is None
    os.close(read)


def test_protocol_deadline() -> None:
    read, write = os.pipe()
    with pytest.raises(TimeoutError):
        receive(read, deadline=time.monotonic() + 0.05)
    os.close(read)
    os.close(write)
