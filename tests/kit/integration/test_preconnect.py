"""`db.preconnect()`: the connect overlaps a function's init, and changes nothing else.

It connects in a background thread; the first statement uses that connection (one round trip
on the wire), waits for it, or connects itself when it failed; it never raises; by default
it runs only inside Lambda's own runtime (not in the tests, not in localdev, not in a
SnapStart init).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import textwrap
import threading
from dataclasses import replace

import psycopg
import pytest
from neonkit import ConfigurationError, Database, Settings

from tests.kit.support import app
from tests.kit.support.proxy import FaultProxy
from tests.kit.support.waiting import wait_until


def through(proxy: FaultProxy, notes_url: str) -> str:
    return psycopg.conninfo.make_conninfo(notes_url, host="127.0.0.1", port=str(proxy.port))


def preconnecting() -> bool:
    return any(thread.name == "neonkit-preconnect" for thread in threading.enumerate())


def test_the_first_statement_uses_the_early_connection(
    proxy: FaultProxy, notes_url: str, settings: Settings
) -> None:
    # GIVEN a Database told to connect early
    db = Database(through(proxy, notes_url), settings=replace(settings, preconnect=True))
    # WHEN it is asked to at module level, THEN it connects in the background
    db.preconnect()
    wait_until(lambda: not preconnecting(), "the background connect finished")
    assert proxy.accepted == 1
    # AND the first statement uses that connection: one round trip, no new connection
    flights = proxy.flights
    assert db.value("SELECT 41 + 1") == 42
    assert proxy.flights - flights == 1
    assert (proxy.accepted, db.connector.attempts) == (1, 1)
    db.close()


def test_a_failed_early_connect_leaves_the_first_statement_to_connect(
    proxy: FaultProxy, notes_url: str, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a database that refuses connections while the function initialises
    caplog.set_level(logging.WARNING, logger="neonkit")
    proxy.refuse()
    db = Database(
        through(proxy, notes_url), settings=replace(settings, preconnect=True, connect_deadline=0.5)
    )
    db.preconnect()  # never raises
    wait_until(
        lambda: any("connecting early failed" in r.getMessage() for r in caplog.records),
        "the early connect gave up",
    )
    # WHEN the database is back by the first request, THEN the statement connects itself
    proxy.accept()
    assert db.value("SELECT 1") == 1
    assert proxy.accepted == 1
    db.close()


def test_a_bad_setting_is_not_raised_at_import_but_by_the_first_statement(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEONKIT_QUERY_TIMEOUT", "soon")
    db = Database()
    db.preconnect()  # at module level: must not raise
    with pytest.raises(ConfigurationError, match="NEONKIT_QUERY_TIMEOUT"):
        db.value("SELECT 1")


@pytest.mark.parametrize(
    ("environment", "starts"),
    [
        ({}, False),  # tests, localdev: no runtime API
        ({"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}, True),
        (
            {
                "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
                "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start",
            },
            False,
        ),
    ],
)
def test_by_default_it_runs_only_inside_lambdas_runtime(
    environment: dict[str, str],
    starts: bool,
    proxy: FaultProxy,
    notes_url: str,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AWS_LAMBDA_RUNTIME_API", raising=False)
    monkeypatch.delenv("AWS_LAMBDA_INITIALIZATION_TYPE", raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    db = Database(through(proxy, notes_url), settings=settings)  # preconnect: auto
    db.preconnect()
    if starts:
        wait_until(lambda: proxy.accepted == 1, "the background connect reached the server")
    else:
        assert not preconnecting()
        assert proxy.accepted == 0
    db.close()
    assert not db.connected


_PROBE = textwrap.dedent(
    """
    import importlib, sys
    sys.path.insert(0, sys.argv[1])
    importlib.import_module("app")  # the fixture app calls db.preconnect() at module level
    print("imported", flush=True)
    import neonkit
    neonkit.db.close()  # waits for the early connect (which gives up: nobody answers)
    print("closed", flush=True)
    """
)


def test_importing_a_handler_inside_lambdas_runtime_connects_early() -> None:
    """The control of the import probe in tests/kit/pooler: with Lambda's runtime API in the
    environment, the same import does open a connection, in the background."""
    code_dir = app.APP / "functions" / "notes_api"
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "NEONKIT_"))},
            "AWS_LAMBDA_FUNCTION_NAME": app.FUNCTION,
            "AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001",
            "DATABASE_URL": f"postgresql://app@127.0.0.1:{listener.getsockname()[1]}/neondb",
            "NEONKIT_CONNECT_DEADLINE": "1",
            "NEONKIT_CONNECT_TIMEOUT": "2",
        }
        result = subprocess.run(
            [sys.executable, "-c", _PROBE, str(code_dir)],
            env=env, cwd=code_dir, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        listener.setblocking(False)
        connection, _ = listener.accept()  # the early connect reached the listener
        connection.close()
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["imported", "closed"]
