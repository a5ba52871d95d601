"""Pooler and fault fixtures: PgBouncers of a test's own, fault proxies, kit Databases, figures.

The session's `pgbouncer` (transaction mode, in front of this run's database) comes from
tests/conftest.py, which also runs the integration suite through it. Every fixture here skips
with a visible reason where PgBouncer is not installed, or fails where NEONKIT_REQUIRE_PGBOUNCER=1.

Figures a test measures go through `report(name, value, unit)`: printed, shown in the run's
summary, and appended to bench/results/pooler_figures.json.
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Protocol

import psycopg
import pytest
from localdev.testing import PgBouncer, require_pgbouncer
from neonkit import Database, Settings

from tests.kit.support.proxy import FaultProxy

FIGURES = Path(__file__).resolve().parents[3] / "bench" / "results" / "pooler_figures.json"
_RUN = time.strftime("%Y-%m-%dT%H:%M:%S")
_reported: list[str] = []

# Tight budgets, so that a fault costs seconds, not minutes.
TIGHT = Settings(query_timeout=2, connect_timeout=2, connect_deadline=4)


class Report(Protocol):
    def __call__(self, name: str, value: float, unit: str) -> None: ...


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Report:
    """Record one measured figure of this test."""

    def record(name: str, value: float, unit: str) -> None:
        entry = {
            "name": name,
            "value": round(value, 3),
            "unit": unit,
            "test": request.node.nodeid,
            "python": platform.python_version(),
            "run": _RUN,
        }
        FIGURES.parent.mkdir(parents=True, exist_ok=True)
        try:
            figures = json.loads(FIGURES.read_text()) if FIGURES.exists() else []
        except json.JSONDecodeError:
            figures = []
        FIGURES.write_text(json.dumps([*figures, entry], indent=1) + "\n")
        line = f"{name}: {value:.1f} {unit}"
        _reported.append(line)
        print(f"[figure] {line}")

    return record


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _reported:
        terminalreporter.write_sep("-", f"pooler figures (also in {FIGURES.name})")
        for line in _reported:
            terminalreporter.write_line(line)


@pytest.fixture
def bouncers(direct_url: str) -> Iterator[Callable[..., PgBouncer]]:
    """Start PgBouncers of the test's own (pool size 1, restarts, ...): `bouncers(pool_size=1)`.
    The first call skips (or fails) the test where PgBouncer is missing, so the direct
    variants of a test still run there."""
    started: list[PgBouncer] = []

    def start(**options: Any) -> PgBouncer:
        bouncer = PgBouncer(direct_url, binary=require_pgbouncer(), **options).start()
        started.append(bouncer)
        return bouncer

    yield start
    for bouncer in started:
        bouncer.stop()


@pytest.fixture
def proxies() -> Iterator[Callable[[str], tuple[FaultProxy, str]]]:
    """`proxy, url = proxies(url)`: a FaultProxy in front of a database URL's server, and the
    same URL through it."""
    started: list[FaultProxy] = []

    def start(url: str) -> tuple[FaultProxy, str]:
        params = psycopg.conninfo.conninfo_to_dict(url)
        proxy = FaultProxy(str(params.get("host", "127.0.0.1")), int(params.get("port") or 5432))
        started.append(proxy)
        params.update(host="127.0.0.1", port=str(proxy.port))
        return proxy, psycopg.conninfo.make_conninfo("", **params)

    yield start
    for proxy in started:
        proxy.close()


@pytest.fixture
def databases() -> Iterator[Callable[..., Database]]:
    """`databases(url, pooled=True, **settings)`: kit Databases with tight budgets, closed after
    the test. Each gets its own application_name so that backends can be found by it."""
    made: list[Database] = []

    def make(url: str, *, pooled: bool = True, **settings: Any) -> Database:
        name = settings.pop("application_name", f"neonkit-pooler-{len(made)}")
        database = Database(
            url, settings=replace(TIGHT, pooled=pooled, application_name=name, **settings)
        )
        made.append(database)
        return database

    yield make
    for database in made:
        database.close()


@pytest.fixture
def admin(admin_url: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """A superuser connection straight to PostgreSQL (terminate backends, read pg_stat_activity)."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        yield conn


@pytest.fixture
def direct(direct_url: str) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
    """A connection straight to this run's database, bypassing every pooler and proxy."""
    with psycopg.connect(direct_url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def writes_table(direct_url: str) -> str:
    """A table the fault tests write to, created once over the direct connection."""
    with psycopg.connect(direct_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS pooler_writes (id serial PRIMARY KEY, tag text)")
    return "pooler_writes"
