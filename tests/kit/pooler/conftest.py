"""Pooler and fault fixtures: PgBouncers of a test's own, fault proxies, kit Databases, figures.

The session's `pgbouncer` (transaction mode, in front of this run's database) comes from
tests/conftest.py, which also runs the integration suite through it. Every fixture here skips
with a visible reason where PgBouncer is not installed, or fails where NEONKIT_REQUIRE_PGBOUNCER=1.

Figures a test measures go through `report(name, value, unit)`: printed, shown in the run's
summary, and written to pooler_figures.json in pytest's cache folder (.pytest_cache/d/neonkit),
or in a temporary folder when the cache is off; the summary names the file.
"""

from __future__ import annotations

import json
import platform
import tempfile
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

_RUN = time.strftime("%Y-%m-%dT%H:%M:%S")
_figures: list[dict[str, Any]] = []

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
        _figures.append(entry)
        print(f"[figure] {name}: {value:.1f} {unit}")

    return record


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """This run's figures, in the summary and in one file (never under the project's bench/)."""
    if not _figures:
        return
    cache = getattr(config, "cache", None)
    folder = cache.mkdir("neonkit") if cache is not None else Path(tempfile.mkdtemp())
    path = Path(folder) / "pooler_figures.json"
    path.write_text(json.dumps(_figures, indent=1) + "\n")
    terminalreporter.write_sep("-", f"pooler figures (also in {path})")
    for entry in _figures:
        terminalreporter.write_line(f"{entry['name']}: {entry['value']:.1f} {entry['unit']}")


@pytest.fixture
def bouncers(direct_url: str) -> Iterator[Callable[..., PgBouncer]]:
    """Start PgBouncers of the test's own (pool size 1, restarts, ...): `bouncers(pool_size=1)`,
    in front of this run's database or of `upstream` (a proxy in front of it, say). The first
    call skips (or fails) the test where PgBouncer is missing, so the direct variants of a
    test still run there."""
    started: list[PgBouncer] = []

    def start(upstream: str | None = None, **options: Any) -> PgBouncer:
        binary = require_pgbouncer()
        bouncer = PgBouncer(upstream or direct_url, binary=binary, **options).start()
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
