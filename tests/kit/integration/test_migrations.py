"""Migrations against a real PostgreSQL: order, idempotence, concurrency, edits, failures."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest
from localdev.testing import scratch_database
from neonkit.migrations import MigrationError, discover, migrate, status

from tests.kit.support import app


@pytest.fixture
def empty_db(admin_url: str):  # type: ignore[no-untyped-def]
    with scratch_database(admin_url) as url:
        yield url


def write(folder: Path, name: str, text: str) -> None:
    (folder / name).write_text(text)


def test_applies_in_order_and_twice_is_a_no_op(empty_db: str, tmp_path: Path) -> None:
    write(tmp_path, "0002_add_col.sql", "ALTER TABLE t ADD COLUMN b int;")
    write(tmp_path, "0001_create.sql", "CREATE TABLE t (a int); INSERT INTO t VALUES (1);")

    assert migrate(empty_db, tmp_path) == ["0001_create.sql", "0002_add_col.sql"]
    assert migrate(empty_db, tmp_path) == []

    with psycopg.connect(empty_db) as conn:
        assert conn.execute("SELECT a, b FROM t").fetchall() == [(1, None)]
    assert [(s.name, s.state) for s in status(empty_db, tmp_path)] == [
        ("0001_create.sql", "applied"),
        ("0002_add_col.sql", "applied"),
    ]


def test_the_fixture_apps_migrations_apply_cleanly(empty_db: str) -> None:
    names = migrate(empty_db, app.MIGRATIONS)
    assert names == [m.name for m in discover(app.MIGRATIONS)]
    assert migrate(empty_db, app.MIGRATIONS) == []


@pytest.mark.parametrize("command", [status, migrate])
def test_the_connect_budget_comes_from_the_settings(
    command: Callable[..., object], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN a server that accepts connections and never answers, and a connect deadline
    # shorter than one attempt (NEONKIT_CONNECT_DEADLINE, read like every entry point)
    monkeypatch.setenv("NEONKIT_CONNECT_DEADLINE", "1")
    monkeypatch.setenv("NEONKIT_CONNECT_TIMEOUT", "2")
    write(tmp_path, "0001_create.sql", "CREATE TABLE t (a int);")
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        url = f"postgresql://app@127.0.0.1:{silent.getsockname()[1]}/app?sslmode=disable"
        # WHEN the migrations' status is asked (or they are applied), THEN it gives up after
        # one attempt: with the default 10 s deadline it would try again and again
        with pytest.raises(MigrationError, match="cannot connect for migrations"):
            command(url, tmp_path)
        silent.setblocking(False)
        attempts = 0
        with contextlib.suppress(BlockingIOError):
            while True:
                silent.accept()[0].close()
                attempts += 1
    assert attempts == 1


def test_two_concurrent_runners_apply_each_file_once(empty_db: str, tmp_path: Path) -> None:
    # GIVEN a slow first migration, so both runners are inside at once
    write(tmp_path, "0001_slow.sql", "SELECT pg_sleep(0.5); CREATE TABLE hits (n int);")
    write(tmp_path, "0002_insert.sql", "INSERT INTO hits VALUES (1);")
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(migrate(empty_db, tmp_path))
        except BaseException as exc:
            errors.append(exc)

    # WHEN two runners start together
    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # THEN each file was applied exactly once, by one runner or the other
    assert errors == []
    assert sorted(name for names in results for name in names) == [
        "0001_slow.sql",
        "0002_insert.sql",
    ]
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("SELECT count(*) FROM hits").fetchone() == (1,)


def test_an_edited_migration_is_reported(empty_db: str, tmp_path: Path) -> None:
    write(tmp_path, "0001_create.sql", "CREATE TABLE t (a int);")
    migrate(empty_db, tmp_path)
    write(tmp_path, "0001_create.sql", "CREATE TABLE t (a bigint);")

    with pytest.raises(MigrationError, match=r"edited since: 0001_create\.sql"):
        migrate(empty_db, tmp_path)
    assert [s.state for s in status(empty_db, tmp_path)] == ["changed"]


def test_a_failing_migration_names_file_and_line_and_rolls_back(
    empty_db: str, tmp_path: Path
) -> None:
    write(tmp_path, "0001_ok.sql", "CREATE TABLE ok (a int);")
    write(tmp_path, "0002_bad.sql", "CREATE TABLE half (a int);\nSELECT no_such_column FROM ok;")

    with pytest.raises(MigrationError, match=r"0002_bad\.sql failed: .*no_such_column.*\(line 2\)"):
        migrate(empty_db, tmp_path)

    with psycopg.connect(empty_db) as conn:
        tables = {r[0] for r in conn.execute("SELECT tablename FROM pg_tables")}
    assert "ok" in tables
    assert "half" not in tables
    assert [s.state for s in status(empty_db, tmp_path)] == ["applied", "pending"]


def test_atomic_run_leaves_the_database_as_it_was(empty_db: str, tmp_path: Path) -> None:
    write(tmp_path, "0001_ok.sql", "CREATE TABLE ok (a int);")
    write(tmp_path, "0002_bad.sql", "SELECT 1/0;")

    with pytest.raises(MigrationError, match="division by zero"):
        migrate(empty_db, tmp_path, atomic=True)

    assert [s.state for s in status(empty_db, tmp_path)] == ["pending", "pending"]


def test_percent_signs_in_a_migration_are_sql_not_placeholders(
    empty_db: str, tmp_path: Path
) -> None:
    write(tmp_path, "0001_pct.sql", "CREATE TABLE p (s text); INSERT INTO p VALUES ('100%s %%');")
    migrate(empty_db, tmp_path)
    with psycopg.connect(empty_db) as conn:
        assert conn.execute("SELECT s FROM p").fetchone() == ("100%s %%",)


def test_badly_named_files_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "create.sql", "SELECT 1;")
    with pytest.raises(MigrationError, match=r"0001_description\.sql: create\.sql"):
        discover(tmp_path)
