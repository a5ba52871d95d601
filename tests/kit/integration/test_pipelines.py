"""A pipeline ends with its Sync and nothing after it: a Flush sent after the last Sync makes a
transaction-mode pooler link a server connection to a client that has finished, and keep it
linked while that client sits idle (see neonkit/_psycopg_private.py). Counted on the wire."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import psycopg
import pytest
from neonkit import Database, Settings

from tests.kit.support.proxy import FaultProxy


@pytest.fixture
def proxy(database_url: str) -> Iterator[FaultProxy]:
    params = psycopg.conninfo.conninfo_to_dict(database_url)
    with FaultProxy(str(params.get("host") or "127.0.0.1"), int(params["port"] or 5432)) as p:
        yield p


@pytest.fixture
def wire_db(proxy: FaultProxy, database_url: str, settings: Settings) -> Iterator[Database]:
    url = psycopg.conninfo.make_conninfo(database_url, host="127.0.0.1", port=str(proxy.port))
    database = Database(url, settings=settings)
    database.ping()
    yield database
    database.close()


def deferred_only(db: Database) -> None:
    with db.transaction() as tx:
        tx.defer("SELECT 1")


def eager_statement(db: Database) -> None:
    with db.transaction() as tx:
        assert tx.value("SELECT 2") == 2


def as_a_user(db: Database) -> None:
    with db.as_user("alice"):
        assert db.value("SELECT current_setting('neonkit.user_id', true)") == "alice"


def savepoint(db: Database) -> None:
    with db.transaction() as tx, db.transaction() as inner:
        inner.defer("SELECT 3")
        tx.defer("SELECT 4")


@pytest.mark.parametrize("work", [deferred_only, eager_statement, as_a_user, savepoint])
def test_no_flush_follows_a_pipelines_last_sync(
    wire_db: Database, proxy: FaultProxy, work: Callable[[Database], None]
) -> None:
    for _ in range(20):  # psycopg's own exit sent one almost every time
        work(wire_db)
    assert proxy.flushes == 0
    assert wire_db.value("SELECT 1") == 1  # and the connection is in order
