"""The function's side of a CloudFormation custom resource, by hand (no cfnresponse, no crhelper).

CloudFormation invokes the function with a request (Create, Update or Delete) and then waits
for a JSON answer PUT to the request's pre-signed `ResponseURL`: SUCCESS, or FAILED with a
`Reason` that the stack events show. A function that never answers leaves the stack waiting
until the resource's ServiceTimeout, so every path answers: an exception answers FAILED, and
a timer answers FAILED shortly before the function's own timeout.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any, Protocol

logger = logging.getLogger(__name__)

REASON_LIMIT = 2000  # CloudFormation caps a whole response at 4 KB
SEND_ATTEMPTS = 3
TIMEOUT_MARGIN_S = 5.0  # the timer answers this long before the function would be cut off

Data = dict[str, str]


class Context(Protocol):
    def get_remaining_time_in_millis(self) -> int: ...


def is_request(event: Mapping[str, Any]) -> bool:
    """Whether an event is a custom resource request (and not a hand-made invocation)."""
    return "RequestType" in event and "ResponseURL" in event


def answer(
    event: Mapping[str, Any],
    context: Context,
    on_change: Callable[[Mapping[str, Any]], Data],
) -> dict[str, Any]:
    """Run `on_change` for Create and Update (Delete succeeds without it); answer CloudFormation.

    Returns the response that was sent, so a hand-run invocation shows it.
    """
    responder = _Responder(event)
    seconds = context.get_remaining_time_in_millis() / 1000 - TIMEOUT_MARGIN_S
    timer = threading.Timer(
        max(seconds, 0.0),
        responder.send,
        args=(
            "FAILED",
            f"{event.get('LogicalResourceId')} did not finish before the function's timeout",
        ),
    )
    timer.daemon = True
    timer.start()
    try:
        data = {} if event["RequestType"] == "Delete" else on_change(event)
    except Exception as exc:
        logger.exception("the custom resource request failed")
        return responder.send("FAILED", describe(exc))
    finally:
        timer.cancel()
    return responder.send("SUCCESS", "", data)


def describe(exc: BaseException) -> str:
    """An error as the stack events show it: the kit's own messages as they are, others typed."""
    from neonkit import NeonKitError

    text = str(exc).strip() or type(exc).__name__
    return text if isinstance(exc, NeonKitError) else f"{type(exc).__name__}: {text}"


class _Responder:
    """Sends one answer per request, whoever asks first (the handler or the timer)."""

    def __init__(self, event: Mapping[str, Any]) -> None:
        self.event = event
        self._lock = threading.Lock()
        self._sent: dict[str, Any] | None = None

    def send(self, status: str, reason: str, data: Data | None = None) -> dict[str, Any]:
        with self._lock:
            if self._sent is not None:
                return self._sent
            event = self.event
            body = {
                "Status": status,
                "Reason": reason[:REASON_LIMIT],
                "PhysicalResourceId": physical_id(event),
                "StackId": event["StackId"],
                "RequestId": event["RequestId"],
                "LogicalResourceId": event["LogicalResourceId"],
                "NoEcho": False,
                "Data": data or {},
            }
            _put(str(event["ResponseURL"]), json.dumps(body).encode())
            self._sent = body
            return body


def physical_id(event: Mapping[str, Any]) -> str:
    """Kept across updates (a new id would make CloudFormation delete the old resource)."""
    existing = event.get("PhysicalResourceId")
    if existing:
        return str(existing)
    stack_name = str(event["StackId"]).split("/")[1] if "/" in str(event["StackId"]) else "stack"
    return f"{stack_name}-{event['LogicalResourceId']}"


def _put(url: str, payload: bytes) -> None:
    """PUT the answer to the pre-signed URL, a few times; failures are logged, not raised."""
    if not url.startswith(("https://", "http://")):  # S310: no file: or custom schemes
        logger.error("the ResponseURL is not an http(s) URL; no answer sent")
        return
    # The URL is signed for a PUT without a content type: send an empty one.
    headers = {"Content-Type": "", "Content-Length": str(len(payload))}
    for attempt in range(1, SEND_ATTEMPTS + 1):
        request = urllib.request.Request(url, data=payload, method="PUT", headers=headers)  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                response.read()
            return
        except (urllib.error.URLError, OSError) as exc:
            logger.warning("sending the answer failed (attempt %d): %s", attempt, exc)
            if attempt < SEND_ATTEMPTS:
                time.sleep(0.5 * 2**attempt)
    logger.error("could not send the answer to CloudFormation after %d attempts", SEND_ATTEMPTS)
