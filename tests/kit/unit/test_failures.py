"""What a failure means: not executed, a prepared-statement clash, lost, timed out or refused;
the one retry rule; the one error a caller sees (no server needed)."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from neonkit import errors
from neonkit._failures import Outcome, error_for, outcome, run_again
from neonkit._psycopg_private import WaitTimeout
from psycopg import errors as pg


class Conn:
    """What `outcome()` reads of a connection: whether it is closed or broken."""

    def __init__(self, *, closed: bool = False, broken: bool = False) -> None:
        self.closed = closed
        self.broken = broken


def classify(exc: psycopg.Error, **state: bool) -> Outcome:
    conn: Any = Conn(**state)
    return outcome(exc, conn)


@pytest.mark.parametrize(
    "message",
    [
        # PgBouncer 1.18 and later, as seen here and in its source (src/objects.c, janitor.c)
        "server login has been failing, try again later (server_login_retry)",
        "server login has been failing, cached error: connect failed (server_login_retry)",
        "query_wait_timeout",
        "no more connections allowed (max_client_conn)",
        "client_login_timeout (server down)",
        "client_idle_timeout",
        "pgbouncer cannot connect to server",
        # Neon's documented errors
        "query_wait_timeout SSL connection has been closed unexpectedly",
        "ERROR:  Couldn't connect to compute node",
    ],
)
def test_pooler_refusals_mean_the_statement_never_ran(message: str) -> None:
    # PgBouncer sends them as SQLSTATE 08P01 and closes the client connection
    assert classify(pg.ProtocolViolation(message), broken=True) is Outcome.NOT_EXECUTED


@pytest.mark.parametrize(
    "exc",
    [
        pg.InvalidSqlStatementName('prepared statement "_pg3_2" does not exist'),
        pg.DuplicatePreparedStatement('prepared statement "_pg3_0" already exists'),
        pg.ProtocolViolation("prepared statement did not exist"),  # PgBouncer >= 1.21
    ],
)
def test_auto_prepared_statements_meeting_a_pooler_are_a_clash(exc: psycopg.Error) -> None:
    assert classify(exc) is Outcome.PREPARE_CLASH


def test_a_users_own_prepared_statement_error_is_not_a_clash() -> None:
    exc = pg.InvalidSqlStatementName('prepared statement "mine" does not exist')
    assert classify(exc) is Outcome.REFUSED


@pytest.mark.parametrize(
    ("exc", "state"),
    [
        (psycopg.OperationalError("server closed the connection unexpectedly"), {"closed": True}),
        (
            psycopg.OperationalError("consuming input failed: Connection reset by peer"),
            {"broken": True},
        ),
        (pg.AdminShutdown("terminating connection due to administrator command"), {}),
        (pg.ProtocolViolation("query_timeout"), {"broken": True}),  # PgBouncer: it ran too long
    ],
)
def test_a_connection_dying_under_a_statement_loses_it(
    exc: psycopg.Error, state: dict[str, bool]
) -> None:
    assert classify(exc, **state) is Outcome.LOST


def test_a_wait_past_the_query_timeout_timed_out() -> None:
    assert classify(WaitTimeout("wait timeout expired"), broken=True) is Outcome.TIMED_OUT


def test_an_error_from_the_database_is_refused() -> None:
    assert classify(pg.UniqueViolation("duplicate key")) is Outcome.REFUSED


@pytest.mark.parametrize(
    ("result", "harmless", "fresh", "seen", "again"),
    [
        (Outcome.NOT_EXECUTED, False, True, {Outcome.NOT_EXECUTED}, True),  # until the deadline
        (Outcome.PREPARE_CLASH, False, False, set(), True),
        (Outcome.PREPARE_CLASH, False, False, {Outcome.PREPARE_CLASH}, False),
        (Outcome.LOST, True, False, set(), True),  # a read, or an idempotent write
        (Outcome.LOST, False, False, set(), False),  # a write: outcome unknown, never resent
        (Outcome.LOST, True, True, set(), False),  # a new connection failed too
        (Outcome.LOST, True, False, {Outcome.LOST}, False),  # once
        (Outcome.TIMED_OUT, True, False, set(), False),  # the wait spent the budget
        (Outcome.REFUSED, True, False, set(), False),
    ],
)
def test_the_retry_rule(
    result: Outcome, harmless: bool, fresh: bool, seen: set[Outcome], again: bool
) -> None:
    assert run_again(result, harmless=harmless, fresh=fresh, seen=seen) is again


@pytest.mark.parametrize(
    ("result", "during", "expected", "says"),
    [
        (Outcome.NOT_EXECUTED, "a write", errors.ConnectError, "a write was not run"),
        (Outcome.PREPARE_CLASH, "a transaction", errors.UnavailableError, "NEONKIT_POOLED=on"),
        (Outcome.LOST, "a write", errors.ConnectionLostError, "outcome is unknown"),
        (Outcome.LOST, "a transaction", errors.ConnectionLostError, "not committed"),
        (Outcome.TIMED_OUT, "a read", errors.QueryTimeoutError, "within 2s"),
        (Outcome.REFUSED, "a write", errors.ConflictError, "duplicate key"),
    ],
)
def test_each_outcome_has_one_error(
    result: Outcome, during: str, expected: type[errors.NeonKitError], says: str
) -> None:
    exc = (
        pg.UniqueViolation("duplicate key s3cret")
        if result is Outcome.REFUSED
        else (pg.ProtocolViolation("server login has been failing s3cret"))
    )
    error = error_for(result, exc, during=during, secret="s3cret", query_timeout=2)
    assert type(error) is expected
    assert says in str(error)
    assert "s3cret" not in str(error)
