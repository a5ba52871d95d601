"""A Database's one connection: opened lazily (or early, in the background), replaced when stale.

- `get()` hands out a live connection: one the server or pooler closed while the sandbox was
  frozen is noticed without a round trip (its socket is readable) and replaced; before a write
  after `idle_ping_after` idle seconds, a ping proves it alive, so that a write is never sent
  into a connection that died silently.
- `preconnect()` opens it in a background thread while the function's imports run; `get()`
  waits for that, or connects itself if it failed.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import threading
import time

import psycopg
from psycopg.pq import TransactionStatus

from ._connector import Connector, allow_prepared_statements
from ._psycopg_private import KitConnection
from ._settings import in_lambda_runtime

logger = logging.getLogger("neonkit")


class LiveConnection:
    """Holds the connection, when it was last used, and how often it was replaced."""

    def __init__(self, connector: Connector) -> None:
        self.connector = connector
        self.reconnects = 0  # connections replaced after going stale, for tests and benchmarks
        self._conn: KitConnection | None = None
        self._last_used = 0.0
        self._preconnect: _Preconnect | None = None

    @property
    def current(self) -> KitConnection | None:
        """The open connection, if any (a preconnect still running does not count)."""
        conn = self._conn
        return conn if conn is not None and not conn.closed else None

    def get(self, *, write: bool, deadline: float | None = None) -> tuple[KitConnection, bool]:
        """A live connection, and whether it was opened for this call (a fresh one).
        `deadline`: the clock value by which a new connection must be made."""
        conn = self._conn if self._conn is not None else self._take_preconnected()
        if conn is not None and self._stale(conn, write=write):
            self.close()
            conn = None
        fresh = conn is None
        if conn is None:
            conn = self.connector.connect(deadline=deadline)
            self._last_used = time.monotonic()
        self._conn = conn
        allow_prepared_statements(conn)
        return conn, fresh

    def touch(self) -> None:
        self._last_used = time.monotonic()

    def leave_idle(self, conn: KitConnection) -> None:
        """After a failure: roll back what is open, or drop a connection that cannot."""
        if conn.closed or conn.broken:
            self.close()
            return
        try:
            if conn.info.transaction_status != TransactionStatus.IDLE:
                conn.execute("ROLLBACK")
        except psycopg.Error:
            self.close()

    def close(self) -> None:
        """Close the connection (and one a preconnect opened); the next `get()` opens anew."""
        conn, self._conn = self._conn, None
        preconnected = self._take_preconnected()
        for item in (conn, preconnected):
            if item is not None:
                with contextlib.suppress(Exception):
                    item.close()

    # -- opening early -------------------------------------------------------------------

    def preconnect(self) -> None:
        """Start connecting in a background thread (once), if the settings want it: by
        default only inside Lambda's runtime, and not in a SnapStart init (the snapshot must
        hold no socket)."""
        wanted = self.connector.settings.preconnect
        if wanted is None:
            snap_start = os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") == "snap-start"
            wanted = in_lambda_runtime() and not snap_start
        if wanted and self._conn is None and self._preconnect is None:
            self._preconnect = _Preconnect(self.connector)

    def _take_preconnected(self) -> KitConnection | None:
        """Wait for a running preconnect and take its connection (None if it failed)."""
        preconnect, self._preconnect = self._preconnect, None
        if preconnect is None:
            return None
        conn = preconnect.result()
        self._last_used = preconnect.finished  # idle since then, as far as pings go
        return conn

    # -- staleness -----------------------------------------------------------------------

    def _stale(self, conn: KitConnection, *, write: bool) -> bool:
        if conn.closed:  # closed by the kit after a failure: nothing to report
            return True
        if looks_dead(conn):
            logger.info("connection was closed while idle; reconnecting")
            self.reconnects += 1
            return True
        if write and time.monotonic() - self._last_used > self.connector.settings.idle_ping_after:
            try:
                conn.execute("")
            except psycopg.Error:
                logger.info("idle connection failed its ping; reconnecting")
                self.reconnects += 1
                return True
        return False


def looks_dead(conn: KitConnection) -> bool:
    """True when the server already hung up: an idle healthy socket has nothing to read.

    Catches a terminated backend or a restarted pooler before a statement is sent (no round
    trip, one poll() call); a silently dropped connection still needs a ping.
    """
    if conn.closed or conn.broken:
        return True
    if conn.poller is None:
        conn.poller = select.poll()
        conn.poller.register(conn.fileno(), select.POLLIN)
    try:
        return bool(conn.poller.poll(0))
    except (OSError, ValueError):
        return True


class _Preconnect:
    """One connection attempt (with the connector's retries) in a daemon thread."""

    def __init__(self, connector: Connector) -> None:
        self._connector = connector
        self._connection: KitConnection | None = None
        self.finished = 0.0  # when it connected (time.monotonic())
        self._thread = threading.Thread(target=self._run, name="neonkit-preconnect", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._connection = self._connector.connect()
            self.finished = time.monotonic()
        except Exception as exc:  # never raise in INIT: the first statement connects itself
            logger.warning("connecting early failed; the first statement will connect: %s", exc)

    def result(self) -> KitConnection | None:
        self._thread.join()  # bounded: the connector gives up at its deadline
        return self._connection
