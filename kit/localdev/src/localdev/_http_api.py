"""API Gateway HTTP APIs, payload format 2.0: a request becomes an event, a result a response.

The event has the shape AWS builds: header names lower-cased and repeated headers joined
with commas, repeated query keys joined with commas, cookies moved from the `cookie` header
to a list, the body as text only for text content types (else base64 with
`isBase64Encoded: true`). The function's result becomes a response the way API Gateway reads
it: `statusCode`/`headers`/`cookies`/`body` (base64-decoded if flagged), or, for any other
JSON value, a 200 with that JSON as the body.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from ._intrinsics import ACCOUNT_ID
from ._routes import Match

__all__ = [
    "MAX_BODY_BYTES",
    "InvalidResponse",
    "Request",
    "Response",
    "build_event",
    "error_response",
    "new_request_id",
    "to_response",
]

MAX_BODY_BYTES = 10 * 1024 * 1024  # API Gateway's payload limit: beyond it, 413
API_ID = "localapi01"
# Checked against AWS: only these arrive as text; anything else (form posts and requests
# without a content type included) arrives base64-encoded.
_TEXT_TYPES = ("application/json", "application/xml", "application/javascript")
_HOP_BY_HOP = ("connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # as sent: /path?query, percent-encoding kept
    headers: list[tuple[str, str]]  # in order, repeats kept
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    server_port: int = 3000
    protocol: str = "HTTP/1.1"

    @property
    def raw_path(self) -> str:
        return self.target.partition("?")[0] or "/"

    @property
    def raw_query(self) -> str:
        return self.target.partition("?")[2]


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


class InvalidResponse(ValueError):
    """The function's result is no response API Gateway can send (it answers 500)."""


def new_request_id() -> str:
    """Like API Gateway's: 16 characters of base64."""
    return base64.b64encode(os.urandom(11)).decode()


def build_event(
    request: Request, match: Match, request_id: str, now: float | None = None
) -> dict[str, Any]:
    now = time.time() if now is None else now
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        name = name.lower()
        if name == "cookie":
            cookies += [c.strip() for c in value.split(";") if c.strip()]
        elif name not in _HOP_BY_HOP:
            headers[name] = f"{headers[name]},{value}" if name in headers else value
    if request.body:
        headers["content-length"] = str(len(request.body))
    forwarded = headers.get("x-forwarded-for")
    headers["x-forwarded-for"] = (
        f"{forwarded}, {request.source_ip}" if forwarded else request.source_ip
    )
    headers["x-forwarded-port"] = str(request.server_port)
    headers["x-forwarded-proto"] = "http"
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(now):08x}-{os.urandom(12).hex()}")
    domain = headers.get("host", "localhost").rpartition(":")[0] or headers.get("host", "localhost")
    route_key = match.route.key
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
    }
    if cookies:
        event["cookies"] = cookies
    event["headers"] = headers
    query = _query_parameters(request.raw_query)
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": ACCOUNT_ID,
        "apiId": API_ID,
        "domainName": domain,
        "domainPrefix": domain.split(".")[0],
        "http": {
            "method": request.method.upper(),
            "path": request.raw_path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": headers.get("user-agent", ""),
        },
        "requestId": request_id,
        "routeKey": route_key,
        "stage": "$default",
        "time": _clf_time(now),
        "timeEpoch": int(now * 1000),
    }
    if match.path_parameters:
        event["pathParameters"] = dict(match.path_parameters)
    if request.body:
        text = _as_text(request.body, headers.get("content-type", ""))
        event["body"] = text if text is not None else base64.b64encode(request.body).decode()
        event["isBase64Encoded"] = text is None
    else:
        event["isBase64Encoded"] = False
    return event


def to_response(payload: str) -> Response:
    """The HTTP response API Gateway makes of a function's result (format 2.0)."""
    result = json.loads(payload)
    if not (isinstance(result, dict) and "statusCode" in result):
        return Response(200, [("content-type", "application/json")], payload.encode())
    status = result["statusCode"]
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise InvalidResponse(f"statusCode must be an HTTP status number, got {status!r}")
    headers: list[tuple[str, str]] = []
    for name, value in _mapping(result, "headers").items():
        headers.append((name, _header_value(name, value)))
    for name, values in _mapping(result, "multiValueHeaders").items():
        if not isinstance(values, list):
            raise InvalidResponse(f"multiValueHeaders.{name} must be a list, got {values!r}")
        headers += [(name, _header_value(name, value)) for value in values]
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list) or not all(isinstance(c, str) for c in cookies):
        raise InvalidResponse(f"cookies must be a list of strings, got {cookies!r}")
    headers += [("set-cookie", cookie) for cookie in cookies]
    body = result.get("body")
    if body is None:
        return Response(status, headers)
    if not isinstance(body, str):
        raise InvalidResponse(f"body must be a string, got {type(body).__name__}")
    if result.get("isBase64Encoded"):
        try:
            return Response(status, headers, base64.b64decode(body, validate=True))
        except binascii.Error:
            raise InvalidResponse("isBase64Encoded is true but body is not base64") from None
    return Response(status, headers, body.encode())


def error_response(status: int, message: str, request_id: str = "") -> Response:
    """API Gateway's own answers: `{"message":"Not Found"}` and the like."""
    body = json.dumps({"message": message}, separators=(",", ":")).encode()
    headers = [("content-type", "application/json")]
    if request_id:
        headers.append(("apigw-requestid", request_id))
    return Response(status, headers, body)


def _query_parameters(raw_query: str) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    return parameters


def _as_text(body: bytes, content_type: str) -> str | None:
    media_type = content_type.split(";")[0].strip().lower()
    if not (media_type.startswith("text/") or media_type in _TEXT_TYPES):
        return None
    try:
        return body.decode()
    except UnicodeDecodeError:
        return None


def _clf_time(now: float) -> str:
    """`12/Mar/2020:19:03:58 +0000`, with English month names whatever the locale."""
    t = time.gmtime(now)
    month = _MONTHS[t.tm_mon - 1]
    return f"{t.tm_mday:02d}/{month}/{t.tm_year}:{time.strftime('%H:%M:%S', t)} +0000"


def _mapping(result: dict[str, Any], key: str) -> dict[str, Any]:
    value = result.get(key) or {}
    if not isinstance(value, dict):
        raise InvalidResponse(f"{key} must be an object, got {value!r}")
    return value


def _header_value(name: str, value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise InvalidResponse(f"header {name} must be a string, got {value!r}")
