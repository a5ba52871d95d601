"""The kit's errors: one small hierarchy, and the one place psycopg errors are translated.

    NeonKitError
    ├── ConfigurationError        settings the kit cannot work with (never retried)
    ├── QueryBuildError           a query the builder refuses to build (names the bad input)
    ├── RequestError              the client sent something wrong            -> 4xx
    │   ├── BadRequestError       malformed body or parameter                -> 400
    │   ├── UnauthorizedError     no verified caller where one is required   -> 401
    │   ├── NotFoundError         no such resource                           -> 404
    │   ├── PayloadTooLargeError  body over the limit                        -> 413
    │   └── ValidationError       well-formed but invalid fields             -> 422
    ├── DatabaseError             the database refused a statement
    │   ├── ConflictError         unique or exclusion violation              -> 409
    │   ├── ForeignKeyError       a referenced row is missing or still used  -> 409
    │   └── InvalidDataError      not null, check, bad value for a type      -> 422
    └── UnavailableError          try again later                            -> 503 + Retry-After
        ├── ConnectError          could not connect within the deadline (compute waking, refused)
        ├── ConnectionLostError   the connection died; a write's outcome is unknown
        └── QueryTimeoutError     no answer in time (slow query, pool wait, black-holed network)

`translate()` turns any psycopg error into one of these; the password never reaches a message.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import psycopg
from psycopg import errors as pg

__all__ = [
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "ConnectionLostError",
    "DatabaseError",
    "ForeignKeyError",
    "InvalidDataError",
    "NeonKitError",
    "NotFoundError",
    "PayloadTooLargeError",
    "QueryBuildError",
    "QueryTimeoutError",
    "RequestError",
    "UnauthorizedError",
    "UnavailableError",
    "ValidationError",
    "redact",
    "translate",
]


class NeonKitError(Exception):
    """Base of every error the kit raises."""


class ConfigurationError(NeonKitError):
    """The configuration cannot work; the message says what to change."""


class QueryBuildError(NeonKitError, ValueError):
    """The query builder was given something it will not turn into SQL."""


class RequestError(NeonKitError):
    """A client error, with optional details for the response body; `neonkit.http` maps each
    class to its status and `error` code."""

    def __init__(self, message: str, *, details: Sequence[Mapping[str, Any]] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.details = list(details)


class BadRequestError(RequestError):
    """A malformed body or parameter."""


class UnauthorizedError(RequestError):
    """No verified caller on a route that needs one (the gateway's authorizer did not run)."""


class NotFoundError(RequestError):
    """No such resource."""


class PayloadTooLargeError(RequestError):
    """A body over the limit."""


class ValidationError(RequestError):
    """A well-formed request with invalid fields; `details` names each of them."""


class DatabaseError(NeonKitError):
    """A statement the database refused; `sqlstate` says why."""

    def __init__(self, message: str, *, sqlstate: str | None = None, constraint: str | None = None):
        super().__init__(message)
        self.sqlstate = sqlstate
        self.constraint = constraint


class ConflictError(DatabaseError):
    """A unique or exclusion constraint was violated."""


class ForeignKeyError(DatabaseError):
    """A referenced row does not exist, or a row is still referenced."""


class InvalidDataError(DatabaseError):
    """A value the column or type does not accept."""


class UnavailableError(NeonKitError):
    """A failure worth retrying later; `retry_after` is a hint in seconds."""

    retry_after = 1


class ConnectError(UnavailableError):
    """No connection could be made within the connect deadline."""


class ConnectionLostError(UnavailableError):
    """The connection broke while a statement was in flight; for a write, its outcome is unknown."""


class QueryTimeoutError(UnavailableError):
    """The statement was cancelled, or no answer came within the query timeout."""


# SQLSTATE classes and codes the kit gives a meaning to.
_CONNECTION_LOST = (pg.AdminShutdown, pg.CrashShutdown, pg.CannotConnectNow, pg.ConnectionException)


def translate(exc: psycopg.Error, *, secret: str | None = None) -> NeonKitError:
    """Map one psycopg error to the kit's hierarchy (raise the result `from None` or `from exc`)."""
    message = redact(_first_line(exc), secret)
    sqlstate = exc.sqlstate
    constraint = _constraint(exc)
    if isinstance(exc, pg.UniqueViolation | pg.ExclusionViolation):
        return ConflictError(message, sqlstate=sqlstate, constraint=constraint)
    if isinstance(exc, pg.ForeignKeyViolation):
        return ForeignKeyError(message, sqlstate=sqlstate, constraint=constraint)
    if isinstance(exc, pg.QueryCanceled | pg.LockNotAvailable):
        return QueryTimeoutError(message)
    if isinstance(exc, psycopg.IntegrityError | psycopg.DataError):
        return InvalidDataError(message, sqlstate=sqlstate, constraint=constraint)
    if isinstance(exc, (_CONNECTION_LOST, psycopg.OperationalError)):
        return ConnectionLostError(message)
    if sqlstate is not None and sqlstate.startswith("53"):  # insufficient resources
        return QueryTimeoutError(message)
    return DatabaseError(message, sqlstate=sqlstate, constraint=constraint)


def redact(text: str, secret: str | None) -> str:
    """Remove a secret from a text (and its URL-encoded form)."""
    if not secret:
        return text
    from urllib.parse import quote

    for form in {secret, quote(secret, safe=""), quote(secret)}:
        text = text.replace(form, "***")
    return text


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _constraint(exc: psycopg.Error) -> str | None:
    diag = getattr(exc, "diag", None)
    return getattr(diag, "constraint_name", None) if diag is not None else None
