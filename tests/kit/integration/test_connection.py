"""The lazy connection against a real PostgreSQL: laziness, recovery, failing fast, secrets."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import textwrap
import time
import traceback
from dataclasses import replace
from typing import Any

import psycopg
import pytest
from aws_lambda_powertools.utilities.parameters.base import BaseProvider
from localdev.testing import enforces_passwords, password_role
from neonkit import ConnectError, Database, QueryTimeoutError, Settings
from neonkit.errors import ConfigurationError, NeonKitError

from tests.kit.support.proxy import FaultProxy
from tests.kit.support.waiting import hung_up, terminate, wait_until

SECRET = "Zebra-Quokka-7731-secret"  # distinctive: easy to find if it ever leaks


def test_importing_opens_no_socket_and_reads_no_secret() -> None:
    # GIVEN a process that records every socket and every boto3 client made while importing
    code = textwrap.dedent(
        """
        import sys, json
        events = []
        watched = ("socket.__new__", "socket.connect")
        sys.addaudithook(lambda name, args: events.append(name) if name in watched else None)
        import os
        os.environ["DATABASE_SECRET"] = "arn:aws:secretsmanager:us-east-1:1:secret:db"
        import neonkit
        from neonkit import db, Database
        print(json.dumps({"events": events, "boto3": "boto3" in sys.modules}))
        """
    )
    env = {**os.environ, "PYTHONPATH": "layer/python"}
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    result = json.loads(out.stdout)
    # THEN nothing was opened and no AWS SDK was even imported
    assert result == {"events": [], "boto3": False}


def test_first_statement_connects_and_later_ones_reuse_it(db: Database) -> None:
    assert not db.connected
    pid = db.backend_pid()
    for _ in range(5):
        db.value("SELECT 1")
    assert db.backend_pid() == pid
    assert db.connector.attempts == 1


def terminated(database: Database, admin_url: str, pid: int) -> None:
    """Terminate the backend and wait for the facts: it is gone and, straight to PostgreSQL,
    its hang-up has reached the kit's socket (through a pooler, the pooler absorbs it)."""
    with psycopg.connect(admin_url, autocommit=True) as admin:
        terminate(admin, pid)
    if not database.settings.pooled:
        wait_until(lambda: hung_up(database), "the server's hang-up reached the client")


def test_killed_backend_is_replaced_without_an_error(db: Database, admin_url: str) -> None:
    # GIVEN a warm connection whose backend the server then terminates (as Neon does on suspend)
    old_pid = db.backend_pid()
    terminated(db, admin_url, old_pid)
    # WHEN the next read and the next write run
    assert db.value("SELECT 41 + 1") == 42
    db.execute("CREATE TEMP TABLE IF NOT EXISTS t (a int)")
    # THEN they ran on a new backend with nothing raised; directly, the kit reconnected once,
    # through a pooler its client connection survived and the pooler replaced the backend
    assert db.backend_pid() != old_pid
    assert db.reconnects == (0 if db.connector.settings.pooled else 1)


def test_a_write_after_a_long_idle_gap_pings_first(
    database_url: str, settings: Settings, raw: psycopg.Connection[tuple[object, ...]]
) -> None:
    # GIVEN a warm connection that dies silently while idle (no FIN: a NAT forgot it), so the
    # next bytes sent on it meet a reset
    idle = 0.05
    raw.execute("CREATE TABLE IF NOT EXISTS kit_pings (tag text)")
    params = psycopg.conninfo.conninfo_to_dict(database_url)
    with FaultProxy(str(params.get("host") or "127.0.0.1"), int(params["port"] or 5432)) as proxy:
        url = psycopg.conninfo.make_conninfo(database_url, host="127.0.0.1", port=str(proxy.port))
        db = Database(url, settings=replace(settings, idle_ping_after=idle))
        assert db.value("SELECT 1") == 1
        proxy.reset(0, from_client=True)
        time.sleep(idle * 2)  # the idle gap itself (the scenario), not a wait for an event
        # WHEN a write comes, THEN a ping goes first, fails, and the write runs, once, on a
        # new connection (without the ping it would meet the reset: outcome unknown, a 503)
        tag = f"ping-{time.monotonic_ns()}"
        assert db.execute("INSERT INTO kit_pings (tag) VALUES (%s)", [tag]) == 1
        assert raw.execute("SELECT count(*) FROM kit_pings WHERE tag = %s", [tag]).fetchone() == (
            1,
        )
        assert db.reconnects == 1
        assert proxy.accepted == 2
        db.close()


@pytest.fixture
def password_url(admin_url: str) -> str:
    if not enforces_passwords(admin_url):
        pytest.skip("TEST_DATABASE_URL's server does not check passwords (trust auth)")
    return password_role(admin_url, "kit_pw_user", SECRET)


def test_wrong_password_fails_fast_without_retries(password_url: str) -> None:
    wrong = password_url.replace(SECRET, "not-the-password")
    database = Database(wrong, settings=Settings(connect_deadline=10))
    started = time.monotonic()
    with pytest.raises(ConnectError, match="password authentication failed"):
        database.value("SELECT 1")
    assert time.monotonic() - started < 2
    assert database.connector.attempts == 1


class RotatingSecret(BaseProvider):
    """A secret store in memory behind Powertools' cache: no AWS, no moto."""

    def __init__(self, value: str) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated
        self.value = value
        self.fetches = 0

    def _get(self, name: str, **kwargs: Any) -> str:
        self.fetches += 1
        return self.value

    def _get_multiple(self, path: str, **kwargs: Any) -> dict[str, str]:
        raise NotImplementedError


def test_rotated_password_is_fetched_again_once(password_url: str, admin_url: str) -> None:
    # GIVEN a warm connection made with a password from a (cached) secret
    store = RotatingSecret(json.dumps({"url": password_url}))
    database = Database(
        settings=Settings(secret="arn:aws:secretsmanager:us-east-1:1:secret:db"),
        secret_provider=store,
    )
    assert database.value("SELECT 1") == 1
    # WHEN the password is rotated (the store and the role change) and the backend goes away
    new_password = "Rotated-" + SECRET
    store.value = json.dumps({"url": password_url.replace(SECRET, new_password)})
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f"ALTER ROLE kit_pw_user PASSWORD '{new_password}'")
    terminated(database, admin_url, database.backend_pid())
    # THEN the next call succeeds: the cached password fails once, the secret is fetched again
    assert database.value("SELECT 2") == 2
    assert store.fetches == 2
    assert database.connector.attempts == 3  # first connect, the rejected one, the good one


def all_text(exc: BaseException) -> str:
    """Everything a log or a traceback could show about an exception, causes included."""
    return "".join(traceback.format_exception(exc))


def failure_paths(password_url: str) -> list[str]:
    params = psycopg.conninfo.conninfo_to_dict(password_url)
    host_part = f"{params['host']}:{params['port']}/{params['dbname']}"
    return [
        password_url.replace(SECRET, SECRET + "-wrong"),  # wrong password
        f"postgresql://kit_pw_user:{SECRET}@127.0.0.1:1/db",  # refused
        f"postgresql://kit_pw_user:{SECRET}@no-such-host.invalid/db",  # DNS
        f"postgresql://kit_pw_user:{SECRET}%zz@{host_part}",  # malformed URL
        f"postgresql://kit_pw_user:{SECRET}@ep-x-1-pooler.us-east-2.aws.neon.tech/db?options=-c%20a%3Db",
        f"host=127.0.0.1 port=1 user=kit_pw_user password={SECRET} dbname=db",
    ]


def test_password_never_appears_in_logs_or_errors(
    password_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    for url in failure_paths(password_url):
        database = Database(url, settings=Settings(connect_deadline=1.0))
        with pytest.raises((ConnectError, ConfigurationError)) as info:
            database.value("SELECT 1")
        texts += [all_text(info.value), repr(database.url) if _safe_url(database) else ""]
    # a statement error after a good connection, too
    database = Database(password_url)
    with pytest.raises(NeonKitError) as info:
        database.value("SELECT * FROM no_such_table")
    texts.append(all_text(info.value))
    texts += [record.getMessage() for record in caplog.records]
    leaks = [text for text in texts if SECRET in text or "Quokka" in text]
    assert leaks == []


def _safe_url(database: Database) -> bool:
    try:
        database.url  # noqa: B018
    except NeonKitError:
        return False
    return True


def test_a_statement_waits_no_longer_than_the_query_timeout(
    database_url: str, settings: Settings
) -> None:
    # GIVEN a query timeout far below what the statement takes (psycopg's own wait has none)
    database = Database(database_url, settings=replace(settings, query_timeout=0.2))
    # WHEN it runs, THEN the kit's bounded wait gives up: psycopg's execute goes through it
    with pytest.raises(QueryTimeoutError, match=r"did not answer within 0\.2s"):
        database.value("SELECT pg_sleep(2)")
    assert not database.connected  # a connection abandoned mid-statement is not reused
    assert database.value("SELECT 1") == 1
    database.close()
