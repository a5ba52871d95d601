"""What a failure means: whether the statement ran, whether waiting helps, and what the caller
is told. The one place that reads PgBouncer's, Neon's and libpq's messages.

After psycopg raises under a statement, the kit asks one question: did it run?

    NOT_EXECUTED   a pooler or proxy refused it before any server saw it: safe to run again
    PREPARE_CLASH  a prepared statement the pooler's server does not have (or already has):
                   it did not run; it may run again once prepared statements are off
    LOST           the connection died with the statement in flight: it may have run
    TIMED_OUT      no answer within query_timeout: the wait spent the budget
    REFUSED        the database answered with an error: running it again changes nothing

Sources: PgBouncer's `disconnect_client()` reasons (src/objects.c, src/janitor.c), Neon's
"Connection errors" page (neon.com/docs/connect/connection-errors), PostgreSQL's SQLSTATEs.
"""

from __future__ import annotations

import enum
from typing import Any

import psycopg
from psycopg import errors as pg

from ._psycopg_private import WaitTimeout
from .errors import (
    ConnectError,
    ConnectionLostError,
    NeonKitError,
    QueryTimeoutError,
    UnavailableError,
    translate,
)


class Outcome(enum.Enum):
    NOT_EXECUTED = "not executed"
    PREPARE_CLASH = "prepared statement clash"
    LOST = "lost in flight"
    TIMED_OUT = "timed out"
    REFUSED = "refused"


# Lower-case fragments of messages that mean the statement never reached a server.
_NOT_EXECUTED = (
    "server login has been failing",  # PgBouncer: the database is down or refusing logins
    "pgbouncer cannot connect to server",  # PgBouncer before 1.18
    "no more connections allowed",  # PgBouncer: max_client_conn
    "query_wait_timeout",  # PgBouncer, Neon's pooler: no server became free in time
    "client_login_timeout",  # PgBouncer: the database was down at login
    "client_idle_timeout",  # PgBouncer closed this idle client before the statement came
    "server shutting down",  # PgBouncer shutting down: waiting clients are sent away
    "couldn't connect to compute node",  # Neon's proxy: the compute is not reachable
)
# PgBouncer >= 1.21 (max_prepared_statements) refusing a protocol-level prepared statement.
_POOLER_PREPARE = ("prepared statement did not exist", "prepared statement name is already in use")


def outcome(exc: psycopg.Error, conn: psycopg.Connection[Any]) -> Outcome:
    """Classify an error raised under a statement (or a transaction) on `conn`."""
    if isinstance(exc, WaitTimeout):
        return Outcome.TIMED_OUT
    text = str(exc).lower()
    if any(fragment in text for fragment in _NOT_EXECUTED):
        return Outcome.NOT_EXECUTED
    if _is_prepare_clash(exc, text):
        return Outcome.PREPARE_CLASH
    if conn.closed or conn.broken or isinstance(exc, pg.AdminShutdown | pg.CrashShutdown):
        return Outcome.LOST
    return Outcome.REFUSED


def _is_prepare_clash(exc: psycopg.Error, text: str) -> bool:
    """psycopg's auto-prepared `_pg3_N` statements meeting a transaction-mode pooler."""
    if any(fragment in text for fragment in _POOLER_PREPARE):
        return True
    return '"_pg3_' in text and isinstance(
        exc, pg.InvalidSqlStatementName | pg.DuplicatePreparedStatement
    )


def run_again(result: Outcome, *, harmless: bool, fresh: bool, seen: set[Outcome]) -> bool:
    """The one retry rule. A statement runs again only when it cannot have run (a pooler
    refused it: until the connect deadline, which the caller keeps; a prepared-statement
    clash: once, prepared statements being off now), or when running it twice is `harmless`
    (a read, or a write the caller marked idempotent) and the old, not `fresh`, connection it
    was sent on turned out dead (once). A statement that timed out is never resent: its wait
    spent the budget. `seen`: the outcomes of this statement's earlier tries."""
    if result is Outcome.NOT_EXECUTED:
        return True
    if result is Outcome.PREPARE_CLASH:
        return result not in seen
    if result is Outcome.LOST:
        return harmless and not fresh and result not in seen
    return False


def error_for(
    result: Outcome,
    exc: psycopg.Error,
    *,
    during: str,
    secret: str | None,
    query_timeout: float | None,
) -> NeonKitError:
    """The one error a caller sees for a failed statement. `during`: "a read", "a write" or
    "a transaction" (what may have happened differs)."""
    if result is Outcome.REFUSED:
        return translate(exc, secret=secret)
    if result is Outcome.TIMED_OUT:
        return QueryTimeoutError(timeout_message(query_timeout))
    if result is Outcome.NOT_EXECUTED:
        detail = translate(exc, secret=secret)
        return ConnectError(f"the database could not be reached; {during} was not run: {detail}")
    if result is Outcome.PREPARE_CLASH:
        return UnavailableError(
            f"{during} met the pooler's prepared statements and was rolled back; prepared "
            "statements are now off for this process: retry (set NEONKIT_POOLED=on)"
        )
    if during == "a transaction":
        return ConnectionLostError(
            "the connection was lost during a transaction: it was not committed, or, if the "
            "loss came after COMMIT was sent, its outcome is unknown. It was not resent; "
            "retry only if it is idempotent"
        )
    if during == "a read":
        return ConnectionLostError("the connection was lost during a read")
    return ConnectionLostError(
        "the connection was lost while a write was in flight: its outcome is unknown, so it "
        "was not resent. Retry if the write is idempotent (idempotent=True resends it once)"
    )


def timeout_message(seconds: float | None) -> str:
    return (
        f"the database did not answer within {seconds or 0:g}s (a busy pooler, a waking "
        "compute or a slow query)"
    )


# -- connecting --------------------------------------------------------------------------

# Lower-case fragments of libpq/PgBouncer/Neon messages for connect failures that pass with time.
_TRANSIENT = (
    "connection refused",
    "timeout expired",
    "timed out",
    "could not connect to server",
    "could not receive data",
    "could not send",
    "server closed the connection unexpectedly",
    "connection reset",
    "no route to host",
    "network is unreachable",
    "temporary failure in name resolution",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "the database system is not yet accepting connections",
    "terminating connection",
    "could not wake",
    "compute is starting",
    "too many clients",
    "too many connections",
    "remaining connection slots are reserved",  # Neon: max_connections reached
    "could not be authorized due to an internal error",  # Neon's proxy
    *_NOT_EXECUTED,
)
# Checked first: these never pass by waiting.
_PERMANENT = (
    "password authentication failed",
    "authentication failed",
    "no pg_hba.conf entry",
    "does not exist",
    "endpoint is disabled",
    "endpoint has been disabled",  # Neon
    "endpoint id is not specified",  # Neon: a client without SNI
    "limit of concurrently active endpoints",  # Neon
    "exceeded the compute time quota",  # Neon
    "unsupported startup parameter",
    "invalid",
    "certificate",
    "channel binding",
    "does not support ssl",
)


def is_transient(exc: BaseException) -> bool:
    """Whether a failed connection attempt is worth another try."""
    text = str(exc).lower()
    if any(fragment in text for fragment in _PERMANENT):
        return False
    return any(fragment in text for fragment in _TRANSIENT)


def is_auth_failure(exc: BaseException) -> bool:
    return "password authentication failed" in str(exc).lower()
