"""The one place where an error becomes an HTTP status and a JSON body.

Clients see what they can act on: which field was wrong, that a row already exists, when to
retry. They never see a stack trace, SQL, or a constraint name; a 500 carries only the
request id, which finds the full error in the logs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .errors import (
    ConflictError,
    ForeignKeyError,
    InvalidDataError,
    RequestError,
    UnavailableError,
)


@dataclass(frozen=True)
class ErrorResponse:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def is_server_error(self) -> bool:
        return self.status >= 500


def error_response(exc: BaseException, request_id: str | None = None) -> ErrorResponse:
    """Map any exception to the response a client should get."""
    if isinstance(exc, RequestError):
        body: dict[str, Any] = {"error": exc.code, "message": exc.message}
        if exc.details:
            body["details"] = exc.details
        return _with_id(ErrorResponse(exc.status, body), request_id)
    if isinstance(exc, ConflictError):
        return _with_id(
            ErrorResponse(409, {"error": "conflict", "message": "conflicts with an existing row"}),
            request_id,
        )
    if isinstance(exc, ForeignKeyError):
        message = "refers to a row that does not exist, or is still referred to"
        return _with_id(ErrorResponse(409, {"error": "conflict", "message": message}), request_id)
    if isinstance(exc, InvalidDataError):
        message = "a value was rejected by the database"
        return _with_id(
            ErrorResponse(422, {"error": "validation_failed", "message": message}), request_id
        )
    if isinstance(exc, UnavailableError):
        message = "the database is busy or waking up; retry shortly"
        return _with_id(
            ErrorResponse(
                503,
                {"error": "unavailable", "message": message},
                {"Retry-After": str(exc.retry_after)},
            ),
            request_id,
        )
    return _with_id(
        ErrorResponse(500, {"error": "internal_error", "message": "internal error"}), request_id
    )


def _with_id(response: ErrorResponse, request_id: str | None) -> ErrorResponse:
    if request_id:
        response.body["request_id"] = request_id
    return response
