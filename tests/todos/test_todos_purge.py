"""The scheduled purge in-process: bounded batches against a real database, directly and through
PgBouncer; statements counted as request flights through a FaultProxy."""

from __future__ import annotations

import contextvars
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg
import pytest
from localdev.testing import Handler, LambdaContext, load_event, load_handler
from localdev.testing import template_document as template
from neonkit import ConfigurationError, Database, Settings, using
from todos.purge import _AS_PURGE, _PURGE, PurgeResult, PurgeSettings, purge_completed

from tests.kit.support.proxy import FaultProxy

Raw = psycopg.Connection[tuple[object, ...]]
OLD = 2500  # completed 31 days ago: purged
KEPT = {"completed 29 days ago": 40, "completed just now": 30, "not done": 30}


@dataclass
class ShrinkingContext(LambdaContext):
    """A context whose remaining time is read from a list, one value per call (the last repeats)."""

    remaining: list[int] = field(default_factory=lambda: [30_000])

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining.pop(0) if len(self.remaining) > 1 else self.remaining[0]


@pytest.fixture
def seeded(todos_db: Database, raw: Raw) -> Database:
    """2,500 todos completed 31 days ago, and 100 that must stay, of two users."""
    raw.execute(
        """
        INSERT INTO todos (owner, title, done, completed_at)
        SELECT (ARRAY['alice', 'bob'])[n %% 2 + 1],
               'old ' || n, true, now() - interval '31 days' FROM generate_series(1, %s) n
        """,
        [OLD],
    )
    raw.execute(
        """
        INSERT INTO todos (owner, title, done, completed_at)
        SELECT (ARRAY['alice', 'bob'])[n %% 2 + 1],
               'recent ' || n, true, now() - interval '29 days' FROM generate_series(1, %s) n
        """,
        [KEPT["completed 29 days ago"]],
    )
    raw.execute(
        """
        INSERT INTO todos (owner, title, done, completed_at)
        SELECT (ARRAY['alice', 'bob'])[n %% 2 + 1],
               'fresh ' || n, true, now() FROM generate_series(1, %s) n
        """,
        [KEPT["completed just now"]],
    )
    raw.execute(
        """
        INSERT INTO todos (owner, title, created_at)
        SELECT (ARRAY['alice', 'bob'])[n %% 2 + 1],
               'open ' || n, now() - interval '400 days' FROM generate_series(1, %s) n
        """,
        [KEPT["not done"]],
    )
    raw.execute("ANALYZE todos")  # the planner sees the rows, as it does once autovacuum ran
    return todos_db


@pytest.fixture
def proxy(app_url: str, settings: Settings, seeded: Database) -> Iterator[FaultProxy]:
    """The purge's database (as the functions' role) reached through a FaultProxy that counts
    request flights."""
    params = psycopg.conninfo.conninfo_to_dict(app_url)
    with FaultProxy(str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432)) as fp:
        params.update(host="127.0.0.1", port=str(fp.port))
        database = Database(psycopg.conninfo.make_conninfo("", **params), settings=settings)
        with using(database):
            database.ping()  # a warm sandbox
            fp.flights = 0
            yield fp
        database.close()


def titles_left(db: Database) -> dict[str, int]:
    rows = db.all("SELECT split_part(title, ' ', 1) AS kind, count(*) AS n FROM todos GROUP BY 1")
    return {row["kind"]: row["n"] for row in rows}


def test_old_completed_todos_go_in_bounded_batches(proxy: FaultProxy, seeded: Database) -> None:
    # WHEN a run purges with batches of 1,000
    result = purge_completed(
        PurgeSettings(after_days=30, batch_size=1000), LambdaContext().get_remaining_time_in_millis
    )

    # THEN 2,500 rows of both users went in three transactions (1,000 + 1,000 + 500: the short
    # one ends it), each one flight: BEGIN, the purge's setting, the DELETE, COMMIT
    assert (result.purged, result.batches, result.finished) == (OLD, 3, True)
    assert proxy.flights == 3
    # AND the rest stayed: completed within 30 days, or not done however old
    assert titles_left(seeded) == {"recent": 40, "fresh": 30, "open": 30}


def test_a_run_stops_early_when_time_runs_low(proxy: FaultProxy, seeded: Database) -> None:
    # GIVEN a sandbox with time for two batches only
    context = ShrinkingContext(remaining=[30_000, 30_000, 4_000])

    result = purge_completed(PurgeSettings(batch_size=1000), context.get_remaining_time_in_millis)

    # THEN it stops after the second, and the next run takes the rest
    assert (result.purged, result.batches, result.finished) == (2000, 2, False)
    assert proxy.flights == 2
    assert titles_left(seeded)["old"] == OLD - 2000
    again = purge_completed(
        PurgeSettings(batch_size=1000), LambdaContext().get_remaining_time_in_millis
    )
    assert (again.purged, again.finished) == (OLD - 2000, True)


def test_no_time_no_statement(proxy: FaultProxy, seeded: Database) -> None:
    result = purge_completed(PurgeSettings(reserve_ms=5000), lambda: 4_999)

    assert (result.purged, result.batches, result.finished) == (0, 0, False)
    assert proxy.flights == 0


def test_a_locked_row_is_skipped_not_waited_for(
    seeded: Database, app_db: Database, direct_url: str
) -> None:
    # GIVEN another transaction holding a lock on one old todo
    with psycopg.connect(direct_url) as other:
        locked = other.execute("SELECT id FROM todos WHERE title = 'old 1' FOR UPDATE").fetchone()
        assert locked is not None
        done = threading.Event()
        result: list[PurgeResult] = []

        def run() -> None:
            result.append(purge_completed(PurgeSettings(batch_size=1000), lambda: 30_000))
            done.set()

        # WHEN the purge runs meanwhile (on this test's database: its context goes along)
        context = contextvars.copy_context()
        threading.Thread(target=context.run, args=(run,), daemon=True).start()

        # THEN it finishes without waiting for that lock, and leaves that row
        assert done.wait(timeout=8), "the purge waited for a locked row"
        other.rollback()
    assert result[0].purged == OLD - 1
    assert seeded.value("SELECT title FROM todos WHERE id = %s", [locked[0]]) == "old 1"


def test_a_batch_never_exceeds_its_size_whatever_the_plan(
    seeded: Database, app_db: Database
) -> None:
    # GIVEN a planner that may only rescan the batch for each row (a nested loop, no hash,
    # sort or materialize): the plan that once deleted every old row in one statement
    with app_db.transaction() as tx:
        for setting in ("hashagg", "hashjoin", "mergejoin", "material", "memoize", "sort",
                        "indexscan", "bitmapscan"):  # fmt: skip
            tx.execute(f"SELECT set_config('enable_{setting}', 'off', true)")
        tx.execute(_AS_PURGE)
        # WHEN one batch runs, THEN it deletes one batch
        assert tx.execute(_PURGE, {"days": 30, "limit": 1000}) == 1000


def test_settings_come_from_the_environment() -> None:
    assert PurgeSettings.from_env({}) == PurgeSettings(after_days=30, batch_size=1000)
    env = {"PURGE_AFTER_DAYS": "7", "PURGE_BATCH_SIZE": "250", "PURGE_RESERVE_MS": "2000"}
    assert PurgeSettings.from_env(env) == PurgeSettings(7, 250, 2000)
    with pytest.raises(ConfigurationError, match="PURGE_AFTER_DAYS='-1' must be a positive"):
        PurgeSettings.from_env({"PURGE_AFTER_DAYS": "-1"})


# -- the function ---------------------------------------------------------------------------


@pytest.fixture
def purge_todos(
    lambda_env: None, seeded: Database, app_db: Database, monkeypatch: pytest.MonkeyPatch
) -> Handler:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "TodosPurgeFunction")
    monkeypatch.setenv("PURGE_AFTER_DAYS", "30")
    monkeypatch.setenv("PURGE_BATCH_SIZE", "1000")
    return load_handler("TodosPurgeFunction")


def test_the_scheduled_event_purges_and_logs_how_many(
    purge_todos: Handler, seeded: Database
) -> None:
    records: list[logging.LogRecord] = []

    class Listener(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    listener = Listener()
    logging.getLogger("todos").addHandler(listener)  # Powertools' Logger for service "todos"
    try:
        result = purge_todos(load_event("todos_purge_schedule"), LambdaContext())
    finally:
        logging.getLogger("todos").removeHandler(listener)

    assert result == {"purged": OLD, "batches": 3, "finished": True}
    assert "purged 2500 completed todos older than 30 days" in [r.getMessage() for r in records]
    assert titles_left(seeded) == {"recent": 40, "fresh": 30, "open": 30}


def test_the_template_runs_it_hourly_with_the_configured_age() -> None:
    resources = template()["Resources"]
    function = resources["TodosPurgeFunction"]["Properties"]

    assert function["Events"]["Hourly"] == {
        "Type": "Schedule",
        "Properties": {
            "Schedule": "rate(1 hour)",
            "Description": "Purge completed todos older than PurgeAfterDays",
        },
    }
    assert function["Environment"]["Variables"]["PURGE_AFTER_DAYS"] == {"Ref": "PurgeAfterDays"}
    # a run ends well within its timeout: the purge keeps 5 s back
    assert function["Timeout"] * 1000 > PurgeSettings().reserve_ms
