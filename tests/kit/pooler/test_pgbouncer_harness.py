"""The test PgBouncer itself: the skip-or-fail rule, start-up errors, what a restart drops."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import psycopg
import pytest
from localdev.testing import PgBouncer, PgBouncerError
from localdev.testing import _pgbouncer as support

pytestmark = pytest.mark.pooler


def test_missing_pgbouncer_skips_with_the_install_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(support, "pgbouncer_binary", lambda: None)
    monkeypatch.delenv(support.REQUIRE_ENV, raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y pgbouncer"):
        support.require_pgbouncer()


def test_missing_pgbouncer_fails_where_it_is_required(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(support, "pgbouncer_binary", lambda: None)
    monkeypatch.setenv(support.REQUIRE_ENV, "1")
    with pytest.raises(pytest.fail.Exception, match="PgBouncer not installed"):
        support.require_pgbouncer()


def test_a_failed_start_says_why(direct_url: str) -> None:
    bouncer = PgBouncer(direct_url, binary=support.require_pgbouncer(), extra={"pool_mode": "no"})
    with pytest.raises(PgBouncerError, match=r"exited at start[\s\S]*pool_mode"):
        bouncer.start()
    assert not bouncer.folder.exists()  # nothing left behind


def test_restart_drops_every_client_and_server_connection(
    bouncers: Callable[..., PgBouncer], admin: psycopg.Connection[Any]
) -> None:
    bouncer = bouncers()
    with psycopg.connect(bouncer.url, autocommit=True) as client:
        row = client.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        port = bouncer.port

        bouncer.restart()

        with pytest.raises(psycopg.OperationalError):
            client.execute("SELECT 1")
    gone = admin.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [row[0]])
    assert gone.fetchone() == (0,)  # the server connection was closed too
    assert bouncer.port == port
    with psycopg.connect(bouncer.url, autocommit=True) as client:
        assert client.execute("SELECT 1").fetchone() == (1,)


def test_the_url_reaches_the_same_database_in_transaction_mode(pgbouncer: PgBouncer) -> None:
    with psycopg.connect(pgbouncer.url, autocommit=True) as conn:
        name = conn.execute("SELECT current_database()").fetchone()
    with psycopg.connect(pgbouncer.console_url, autocommit=True) as console:
        pools = {row[0]: row for row in console.execute("SHOW POOLS").fetchall()}
    assert name is not None
    assert pools[name[0]][-1] == "transaction"
