"""What each exception means to a client: its status, JSON body and headers.

A module of its own because it stands alone: it needs the kit's error classes and nothing of
Powertools. `neonkit.http` re-exports both names.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from .errors import (
    BadRequestError,
    ConflictError,
    ForeignKeyError,
    InvalidDataError,
    NotFoundError,
    PayloadTooLargeError,
    RequestError,
    UnauthorizedError,
    UnavailableError,
    ValidationError,
)

__all__ = ["ErrorResponse", "error_response"]

# What each error means to a client: status, `error` code, and the message it reads (None:
# the error's own message, written for clients). Looked up along the error's class's MRO.
_ERRORS: dict[type[BaseException], tuple[int, str, str | None]] = {
    BadRequestError: (400, "bad_request", None),
    UnauthorizedError: (401, "unauthorized", None),
    NotFoundError: (404, "not_found", None),
    PayloadTooLargeError: (413, "payload_too_large", None),
    ValidationError: (422, "validation_failed", None),
    RequestError: (400, "bad_request", None),
    ConflictError: (409, "conflict", "conflicts with an existing row"),
    ForeignKeyError: (
        409,
        "conflict",
        "refers to a row that does not exist, or is still referred to",
    ),
    InvalidDataError: (422, "validation_failed", "a value was rejected by the database"),
    UnavailableError: (503, "unavailable", "the database is busy or waking up; retry shortly"),
}
_INTERNAL = (500, "internal_error", "internal error")


class ErrorResponse(NamedTuple):
    status: int
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def is_server_error(self) -> bool:
        return self.status >= 500


def error_response(exc: BaseException, request_id: str | None = None) -> ErrorResponse:
    """The answer a client gets for any exception: what it can act on (which field, when to
    retry), never a stack trace, SQL or a constraint name; a 500 carries the request id only."""
    status, code, message = next(
        (_ERRORS[kind] for kind in type(exc).__mro__ if kind in _ERRORS), _INTERNAL
    )
    body: dict[str, Any] = {"error": code}
    headers: dict[str, str] = {}
    if isinstance(exc, RequestError):
        body["message"] = exc.message
        if exc.details:
            body["details"] = exc.details
    else:
        body["message"] = message
    if isinstance(exc, UnavailableError):
        headers["Retry-After"] = str(exc.retry_after)
    if request_id:
        body["request_id"] = request_id
    return ErrorResponse(status, body, headers)
