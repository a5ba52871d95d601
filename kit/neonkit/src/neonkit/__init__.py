"""neonkit: Python on AWS Lambda with Neon Postgres.

Usage: `db.all(table("todos").where("done", False).order_by("id").limit(20))`, with `db` and
`table` imported from here. The README shows the rest.
"""

from ._current import db, using
from ._database import Database
from ._dsn import DatabaseUrl
from ._identity import USER_ID_SETTING
from ._settings import Settings
from ._transaction import Deferred, Transaction
from .errors import (
    BadRequestError,
    ConfigurationError,
    ConflictError,
    ConnectError,
    ConnectionLostError,
    DatabaseError,
    ForeignKeyError,
    InvalidDataError,
    NeonKitError,
    NotFoundError,
    PayloadTooLargeError,
    QueryBuildError,
    QueryTimeoutError,
    RequestError,
    UnauthorizedError,
    UnavailableError,
    ValidationError,
)
from .query import Raw, alias, raw, table

__all__ = [
    "USER_ID_SETTING",
    "BadRequestError",
    "ConfigurationError",
    "ConflictError",
    "ConnectError",
    "ConnectionLostError",
    "Database",
    "DatabaseError",
    "DatabaseUrl",
    "Deferred",
    "ForeignKeyError",
    "InvalidDataError",
    "NeonKitError",
    "NotFoundError",
    "PayloadTooLargeError",
    "QueryBuildError",
    "QueryTimeoutError",
    "Raw",
    "RequestError",
    "Settings",
    "Transaction",
    "UnauthorizedError",
    "UnavailableError",
    "ValidationError",
    "alias",
    "db",
    "raw",
    "table",
    "using",
]
