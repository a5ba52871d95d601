"""neonkit: Python on AWS Lambda with Neon Postgres.

Usage: `db.all(table("todos").where("done", False).order_by("id").limit(20))`, with `db` and
`table` imported from here. The README shows the rest.
"""

from ._database import Database, db, using
from ._dsn import DatabaseUrl
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
    UnavailableError,
    ValidationError,
)
from .query import Raw, alias, raw, table

__all__ = [
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
    "UnavailableError",
    "ValidationError",
    "alias",
    "db",
    "raw",
    "table",
    "using",
]
