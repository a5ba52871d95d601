"""Powertools' HTTP resolver wired to the kit: JSON errors, bounded bodies, no open transaction.

app = APIGatewayHttpResolver()
api.install(app, logger)
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.event_handler import Response

from ._current import db
from .errors import BadRequestError, PayloadTooLargeError
from .http_errors import error_response

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
    from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

JSON = "application/json"
MAX_DEPTH = 32  # request bodies nest a few levels; deeper is an attack or a mistake


def install(app: ApiGatewayResolver, logger: Logger) -> None:
    """Map every error through `error_response`, answer unknown routes with JSON, and make
    sure no request leaves a transaction open."""

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]  # Powertools' is untyped
    def handle_error(exc: Exception) -> Response[str]:
        result = error_response(exc, _request_id(app))
        if result.status >= 500 and result.status != 503:
            logger.exception("request failed", extra={"error_type": type(exc).__name__})
        elif result.status == 503:
            logger.warning("database unavailable", extra={"reason": str(exc)})
        return json_response(result.status, result.body, result.headers)

    @app.not_found
    def not_found(exc: Exception) -> Response[str]:
        event = app.current_event
        body = {
            "error": "not_found",
            "message": f"no route for {event.http_method} {event.path}",
            "request_id": _request_id(app),
        }
        return json_response(404, body)

    def end_request(app: ApiGatewayResolver, next_middleware: Callable[..., Any]) -> Any:
        started = time.perf_counter()
        status = 500
        try:
            response = next_middleware(app)
            status = response.status_code
            return response
        except Exception as exc:  # the exception handler answers it after this middleware
            status = error_response(exc).status
            raise
        finally:
            db.ensure_idle()
            event = app.current_event
            logger.info(
                "request",
                extra={
                    "method": event.http_method,
                    "path": event.path,
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )

    app.use(middlewares=[end_request])


def json_body(event: BaseProxyEvent, *, max_bytes: int) -> Any:
    """The request's JSON body: 413 over `max_bytes`, 400 when it is not JSON."""
    raw = event.body or ""
    data: bytes
    if event.is_base64_encoded:
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequestError("the body is not valid base64") from None
    else:
        data = raw.encode("utf-8", "surrogatepass")
    if len(data) > max_bytes:
        raise PayloadTooLargeError(f"the body is {len(data)} bytes; the limit is {max_bytes} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequestError(f"the body is not valid UTF-8 (byte {exc.start})") from None
    if not text.strip():
        raise BadRequestError("a JSON body is required")
    if json_depth(text) > MAX_DEPTH:
        raise BadRequestError(f"the JSON is nested more than {MAX_DEPTH} levels deep")
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise BadRequestError(
            f"malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from None
    except ValueError:  # NaN/Infinity, or an integer with thousands of digits
        raise BadRequestError("malformed JSON: a number is not valid or too long") from None


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest (the parser's own limit differs between Pythons)."""
    if text.count("[") + text.count("{") <= MAX_DEPTH:
        return 0  # too few brackets to be too deep: skip the scan
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type=JSON,
        body=json.dumps(body, separators=(",", ":"), ensure_ascii=False),
        headers=headers or {},
    )


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _request_id(app: ApiGatewayResolver) -> str | None:
    try:
        return str(app.lambda_context.aws_request_id)
    except AttributeError:
        return None
