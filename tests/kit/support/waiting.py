"""Waiting on facts, not on time: poll until something is true, within one margin.

terminate(admin, pid)                      # returns once the backend is gone
wait_until(lambda: hung_up(db), "the hang-up reached the client")
wait_until(lambda: quiet(direct), "the server finished what it was sent")
"""

from __future__ import annotations

import select
import time
from collections.abc import Callable
from typing import Any

import psycopg
from neonkit import Database

# Seconds of slack on top of a configured budget, and how long a fact may take to become
# true: the one wall-clock margin of the kit's tests.
MARGIN = 1.0

Admin = psycopg.Connection[tuple[Any, ...]]


def wait_until(fact: Callable[[], bool], what: str, *, within: float = MARGIN) -> None:
    """Poll `fact` until it holds; fail saying `what` did not happen within `within` s."""
    deadline = time.monotonic() + within
    while not fact():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {within:g}s")
        time.sleep(0.005)  # a poll interval, not a guess at how long it takes


def terminate(admin: Admin, pid: int) -> None:
    """pg_terminate_backend, then wait until the process is gone (as Neon's suspend does)."""
    admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    wait_until(
        lambda: (
            admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone() is None
        ),
        f"backend {pid} exited",
        within=5,
    )


def hung_up(database: Database) -> bool:
    """The server's or pooler's hang-up has reached the kit's socket (it is readable)."""
    conn = database.connection
    if conn is None:
        return True
    readable, _, _ = select.select([conn.fileno()], [], [], 0)
    return bool(readable)


def quiet(direct: Admin) -> bool:
    """No other session of this database is running a statement or holding a transaction:
    whatever reached the server has landed (or been rolled back)."""
    row = direct.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
        " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        " AND state IN ('active', 'idle in transaction')"
    ).fetchone()
    return row == (0,)
