"""Connecting: which failures are retried, backoff with jitter, the deadline (no server needed)."""

from __future__ import annotations

import random
import socket

import pytest
from neonkit._connector import Backoff, Connector
from neonkit._failures import is_transient
from neonkit._settings import Settings
from neonkit.errors import ConfigurationError, ConnectError


@pytest.mark.parametrize(
    "message",
    [
        'connection to server at "h" (1.2.3.4), port 5432 failed: Connection refused',
        'connection to server at "h" failed: timeout expired',
        "FATAL:  the database system is starting up",
        "FATAL:  terminating connection due to administrator command",
        "ERROR:  Couldn't connect to compute node",
        "FATAL:  sorry, too many clients already",
        "server closed the connection unexpectedly",
        'could not translate host name "h" to address: Temporary failure in name resolution',
    ],
)
def test_transient_failures_are_retried(message: str) -> None:
    assert is_transient(Exception(message))


@pytest.mark.parametrize(
    "message",
    [
        'FATAL:  password authentication failed for user "alex"',
        'FATAL:  database "nope" does not exist',
        "FATAL:  unsupported startup parameter: options",
        'could not translate host name "typo" to address: Name or service not known',
        "ERROR:  The endpoint has been disabled. Enable it using Neon API and retry.",
        "server does not support SSL, but SSL was required",
    ],
)
def test_permanent_failures_are_not(message: str) -> None:
    assert not is_transient(Exception(message))


def test_backoff_doubles_with_jitter_up_to_the_cap() -> None:
    delays = Backoff(base=0.1, cap=1.0).delays(random.Random(7))
    values = [next(delays) for _ in range(8)]
    ceilings = [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0, 1.0]
    for value, ceiling in zip(values, ceilings, strict=True):
        assert ceiling / 2 <= value <= ceiling
    assert len(set(values)) == len(values)  # jittered, not lock-stepped


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])  # closed again: connecting is refused


def test_refused_connections_retry_until_the_deadline_then_fail() -> None:
    # GIVEN a port where nothing listens, and a clock that sleeping advances
    now = [0.0]
    settings = Settings(url=f"postgresql://u@127.0.0.1:{closed_port()}/db", connect_deadline=3.0)
    connector = Connector(
        settings,
        sleep=lambda seconds: now.__setitem__(0, now[0] + seconds),
        clock=lambda: now[0],
        rng=random.Random(1),
    )
    # WHEN connecting
    with pytest.raises(ConnectError, match=r"within \d+\.\ds \(\d+ attempts\)") as info:
        connector.connect()
    # THEN it tried several times, and slept no longer than the deadline in total
    assert 3 <= connector.attempts <= 10
    assert now[0] <= 3.0
    assert "Connection refused" in str(info.value)


def test_no_database_configured_says_what_to_do() -> None:
    with pytest.raises(ConfigurationError, match="set DATABASE_URL"):
        Connector(Settings()).connect()


def test_pooled_url_with_startup_options_is_refused_before_connecting() -> None:
    url = (
        "postgresql://a:pw@ep-x-1-pooler.us-east-2.aws.neon.tech/db"
        "?options=-c%20statement_timeout%3D5s"
    )
    connector = Connector(Settings(url=url))
    with pytest.raises(ConfigurationError, match="unsupported startup parameter: options"):
        connector.target()
    assert connector.attempts == 0


def test_a_pooler_declared_by_setting_is_checked_too() -> None:
    url = "postgresql://a@127.0.0.1:6432/db?options=-csearch_path%3Dapp"
    with pytest.raises(ConfigurationError, match="startup 'options'"):
        Connector(Settings(url=url, pooled=True)).target()
    assert Connector(Settings(url=url, pooled=False)).target().pooled is False


def test_the_function_name_reaches_the_connection_string() -> None:
    target = Connector(Settings(url="postgresql://a@h/db", application_name="fn")).target()
    assert target.url.params["application_name"] == "fn"
