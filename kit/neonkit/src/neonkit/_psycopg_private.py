"""The only module that uses psycopg's private API: bounded waits, and pipelines that end clean.

- A bound on every wait for the server. psycopg 3.3 has no public setting for how long a
  statement may wait on the socket (its own `Connection.wait()` takes a `timeout`, but nothing
  passes one). A black-holed network or a pooler's full queue would hang a function until
  Lambda kills it, so `KitConnection` overrides `wait()` to pass `query_timeout`, and turns
  psycopg's internal `_WaitTimeout` into the kit's own `WaitTimeout`. libpq's
  `tcp_user_timeout` and keepalives cover only part of it (a pooler that accepted the
  statement and queues it acknowledges every byte).
- No Flush after a pipeline's last Sync. Leaving pipeline mode, psycopg 3.3 sends a Sync and
  then, while the answers are still on their way, a Flush. The Sync already ends the
  transaction and makes the server send everything, so the Flush asks for nothing; but a
  transaction-mode pooler (PgBouncer, so Neon's -pooler endpoint) that has already handed the
  server connection back to its pool links a server to this client again to pass the Flush
  on, and no answer ever releases it: the client holds a server connection while it sits
  idle (a frozen Lambda sandbox, for minutes), and others wait for it. Seen here with
  PgBouncer 1.18 and a pool of one: 1 to 3 in 40 pipelined transactions left the next client
  waiting. `KitConnection.pipeline()` uses `_SyncEndedPipeline`, which reads the answers
  after the final Sync without asking for a Flush.

tests/kit/unit/test_psycopg_private.py pins what this relies on: when a psycopg upgrade
changes it, that test fails and says what to check here.
"""

from __future__ import annotations

import select
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors as pg
from psycopg.abc import PQGen
from psycopg.rows import DictRow

CHECKED_WITH = "3.3"  # the psycopg minor version this module was checked against


class WaitTimeout(psycopg.OperationalError):
    """No answer from the server within `query_timeout` seconds."""


class KitConnection(psycopg.Connection[DictRow]):
    """A psycopg connection whose every wait is bounded by `query_timeout` seconds."""

    query_timeout: float | None = None
    poller: select.poll | None = None  # watches the socket for a hang-up between statements

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        try:
            return super().wait(gen, interval, self.query_timeout if timeout is None else timeout)
        except pg._WaitTimeout as exc:
            raise WaitTimeout(str(exc)) from None

    @contextmanager
    def pipeline(self) -> Iterator[psycopg.Pipeline]:
        """psycopg's `Connection.pipeline()`, with a pipeline that sends no Flush at its end."""
        with self.lock:
            self._check_connection_ok()
            if (pipeline := self._pipeline) is None:
                pipeline = self._pipeline = _SyncEndedPipeline(self)
        try:
            with pipeline:
                yield pipeline
        finally:
            if pipeline.level == 0:
                with self.lock:
                    self._pipeline = None


class _SyncEndedPipeline(psycopg.Pipeline):
    """A pipeline whose exit reads the answers its final Sync brings, asking for no Flush."""

    def _exit_gen(self) -> PQGen[None]:
        try:
            self._enqueue_sync()
            yield from self._communicate_gen()
        finally:
            yield from self._fetch_gen(flush=False)
