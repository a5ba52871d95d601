"""The only module that uses psycopg's private API: a bound on every wait for the server.

psycopg 3.3 has no public setting for how long a statement may wait on the socket (its own
`Connection.wait()` takes a `timeout`, but nothing passes one). A black-holed network or a
pooler's full queue would hang a function until Lambda kills it, so `KitConnection`
overrides `wait()` to pass `query_timeout`, and turns psycopg's internal `_WaitTimeout` into
the kit's own `WaitTimeout`. libpq's `tcp_user_timeout` and keepalives cover only part of
it (a pooler that accepted the statement and queues it acknowledges every byte).

tests/kit/unit/test_psycopg_private.py pins what this relies on: when a psycopg upgrade
changes it, that test fails and says what to check here.
"""

from __future__ import annotations

import select
from typing import Any

import psycopg
from psycopg import errors as pg
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
