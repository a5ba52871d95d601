"""The query builder against a real PostgreSQL: every feature round-trips real data.

Each test creates its own tables (unique names), so the file needs no migration.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from neonkit import Database, QueryBuildError, Settings, alias, raw, table
from neonkit.query import json_path, ref, stream
from psycopg import sql
from psycopg.types.json import Jsonb

HOSTILE_VALUES = [
    "'; DROP TABLE x; --",
    "' OR 1=1 --",
    '";--',
    "back\\slash\\",
    "\\'",
    "ünïcödé ☃ 🎉",
    "%s",
    "%(x)s",
    "%%",
    "100%",
    "{}",
    "$1",
    "E'\\x41'",
    "line\nbreak\ttab",
    "x" * 10_000,
]
HOSTILE_NAMES = ['we"ird', "a%sb", "%(x)s", "ünï ☃", "'; DROP TABLE x; --", "100%", "Mixed Case"]


def create(db: Database, columns: str) -> str:
    """A new table with a unique name; `columns` is literal DDL."""
    name = f"q_{uuid.uuid4().hex[:12]}"
    db.execute(sql.SQL("CREATE TABLE ") + sql.Identifier(name) + sql.SQL(f"({columns})"))
    return name


@pytest.fixture
def todos(db: Database) -> Iterator[str]:
    name = create(
        db,
        "id bigserial PRIMARY KEY, title text NOT NULL, done boolean NOT NULL DEFAULT false,"
        " due date, tags text[] NOT NULL DEFAULT '{}', user_id int, ref uuid,"
        " created timestamptz NOT NULL DEFAULT now()",
    )
    yield name
    db.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))


def seed(db: Database, name: str) -> list[dict[str, Any]]:
    rows = [
        {
            "title": "buy milk",
            "done": False,
            "due": dt.date(2030, 1, 1),
            "tags": ["home"],
            "user_id": 1,
        },
        {
            "title": "Write report",
            "done": True,
            "due": dt.date(2030, 1, 1),
            "tags": ["work"],
            "user_id": 2,
        },
        {"title": "call mom", "done": False, "due": None, "tags": [], "user_id": 1},
        {
            "title": "fix bike",
            "done": False,
            "due": dt.date(2030, 2, 1),
            "tags": ["home", "work"],
            "user_id": None,
        },
        {
            "title": "water plants",
            "done": True,
            "due": dt.date(2030, 3, 1),
            "tags": ["home"],
            "user_id": 2,
        },
    ]
    return db.all(table(name).insert(rows).returning("*"))


ALL = ["buy milk", "Write report", "call mom", "fix bike", "water plants"]


def titles(rows: list[dict[str, Any]]) -> list[str]:
    return [row["title"] for row in rows]


# -- select --------------------------------------------------------------------------------


def test_the_readme_examples(db: Database, todos: str) -> None:
    seed(db, todos)
    rows = db.all(table(todos).select("id", "title").where("done", False).order_by("id").limit(20))
    assert rows == [
        {"id": 1, "title": "buy milk"},
        {"id": 3, "title": "call mom"},
        {"id": 4, "title": "fix bike"},
    ]
    assert db.one(table(todos).where("id", 4))["title"] == "fix bike"  # type: ignore[index]
    assert db.one(table(todos).where("id", 99)) is None
    assert db.execute(table(todos).where("id", 4).delete()) == 1
    composed, params = table(todos).where("id", ">", 3).build()
    assert titles(db.all(composed, params)) == ["water plants"]


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("title", "call mom"), ["call mom"]),
        (("done", "!=", False), ["Write report", "water plants"]),
        (("due", "<", dt.date(2030, 2, 1)), ["buy milk", "Write report"]),
        (("due", ">=", dt.date(2030, 2, 1)), ["fix bike", "water plants"]),
        (("title", "like", "%i%"), ["buy milk", "Write report", "fix bike"]),
        (("title", "ilike", "w%"), ["Write report", "water plants"]),
        (("title", "not like", "% %o%"), ["buy milk", "fix bike", "water plants"]),
        (("title", "NOT ILIKE", "%l%"), ["Write report", "fix bike"]),
        (("id", "in", [2, 4, 42]), ["Write report", "fix bike"]),
        (("id", "in", []), []),
        (("id", "not in", {1, 2, 3}), ["fix bike", "water plants"]),
        (("id", "not in", []), ALL),
        (("title", "in", ("call mom", "x")), ["call mom"]),
        (("due", None), ["call mom"]),
        (("user_id", "!=", None), ["buy milk", "Write report", "call mom", "water plants"]),
        (("done", "is", True), ["Write report", "water plants"]),
        (("done", "is not", True), ["buy milk", "call mom", "fix bike"]),
        (("tags", "@>", ["home", "work"]), ["fix bike"]),
        (("tags", "<@", ["home"]), ["buy milk", "call mom", "water plants"]),
        (("tags", "&&", ["work"]), ["Write report", "fix bike"]),
        (("tags", []), ["call mom"]),
        (("created", "<=", raw("now()")), ALL),
        (
            ("id", "in", raw("SELECT generate_series(%s::int, %s::int)", [4, 5])),
            ["fix bike", "water plants"],
        ),
    ],
)
def test_each_operator_filters_as_postgres_does(
    db: Database, todos: str, args: tuple[Any, ...], expected: list[str]
) -> None:
    seed(db, todos)
    assert titles(db.all(table(todos).where(*args).order_by("id"))) == expected


@pytest.mark.parametrize("column", ["tags", "title", "id"])
def test_in_an_empty_list_matches_nothing_whatever_the_column(
    db: Database, todos: str, column: str
) -> None:
    # GIVEN columns of array, text and bigint type
    seed(db, todos)
    t = table(todos)
    # THEN nothing is in an empty list, and everything is not in it
    assert db.all(t.where(column, "in", [])) == []
    assert db.value(t.where(column, "not in", []).count()) == len(ALL)
    assert db.value(t.where_not(column, "in", []).count()) == len(ALL)


def test_in_with_text_matches_other_types(db: Database, todos: str) -> None:
    # GIVEN a uuid column, WHEN matched against a list of strings, THEN PostgreSQL infers the type
    ref = uuid.uuid4()
    db.execute(table(todos).insert({"title": "a", "ref": str(ref)}))
    assert db.one(table(todos).where("ref", "in", [str(ref), str(uuid.uuid4())]))["ref"] == ref  # type: ignore[index]
    assert db.one(table(todos).where("ref", ref))["ref"] == ref  # type: ignore[index]


@pytest.mark.parametrize("column", ["nums", "bigs"])
@pytest.mark.parametrize(
    ("op", "value", "expected"),
    [
        ("@>", [1], ["a", "b"]),
        ("<@", [1, 2, 3], ["a", "c"]),
        ("&&", [3, 9], ["c"]),
        ("=", [1, 2], ["a"]),
        ("!=", [3], ["a", "b"]),
        ("@>", [[1]], ["a", "b"]),
    ],
)
def test_a_list_of_ints_compares_with_int_and_bigint_arrays(
    db: Database, column: str, op: str, value: list[Any], expected: list[str]
) -> None:
    # GIVEN integer[] and bigint[] columns (psycopg would send [1] as smallint[])
    name = create(db, "name text, nums integer[], bigs bigint[]")
    arrays = {"a": [1, 2], "b": [1, 5], "c": [3]}
    rows = [{"name": n, "nums": v, "bigs": v} for n, v in arrays.items()]
    db.execute(table(name).insert(rows))
    # WHEN compared with a Python list of ints, THEN PostgreSQL compares them as arrays
    found = db.all(table(name).select("name").where(column, op, value).order_by("name"))
    assert [row["name"] for row in found] == expected


def test_mappings_groups_raw_and_negations(db: Database, todos: str) -> None:
    seed(db, todos)
    t = table(todos).order_by("id")
    assert titles(db.all(t.where({"done": False, "user_id": 1}))) == ["buy milk", "call mom"]
    grouped = t.where("done", False).where(lambda w: w.where("user_id", 2).or_where("due", None))
    assert titles(db.all(grouped)) == ["call mom"]
    assert titles(db.all(t.where("user_id", 2).or_where("due", None).where("done", True))) == [
        "Write report",
        "water plants",
    ]
    assert titles(db.all(t.where(raw("lower(title) = %s", ["write report"])))) == ["Write report"]
    assert titles(db.all(t.where_not("done", True).or_where_not("user_id", "in", [1]))) == [
        "buy milk",
        "Write report",
        "call mom",
        "fix bike",
        "water plants",
    ]
    assert titles(db.all(t.where_not({"done": False}))) == ["Write report", "water plants"]


def test_chained_conditions_group_left_to_right(db: Database, todos: str) -> None:
    # GIVEN where(a).or_where(b).where(c)
    seed(db, todos)
    t = table(todos).order_by("id")
    chained = t.where("done", True).or_where("user_id", 1).where("due", None)
    # THEN it is (a OR b) AND c: each call applies to everything before it
    assert titles(db.all(chained)) == ["call mom"]
    # and SQL's precedence, a OR (b AND c), is written with a group
    grouped = t.where("done", True).or_where(lambda w: w.where("user_id", 1).where("due", None))
    assert titles(db.all(grouped)) == ["Write report", "call mom", "water plants"]


def test_select_columns_aliases_distinct_group_and_having(db: Database, todos: str) -> None:
    seed(db, todos)
    t = table(todos)
    assert db.all(
        t.select("user_id").distinct().where("user_id", "!=", None).order_by("user_id")
    ) == [
        {"user_id": 1},
        {"user_id": 2},
    ]
    grouped = (
        t.select("user_id", n=raw("count(*)"), first=raw("min(title)"))
        .where("user_id", "!=", None)
        .group_by("user_id")
        .having(raw("count(*) > %s", [1]))
        .order_by("user_id", "desc")
    )
    assert db.all(grouped) == [
        {"user_id": 2, "n": 2, "first": "Write report"},
        {"user_id": 1, "n": 2, "first": "buy milk"},
    ]
    assert db.one(t.select(label="title", one=raw("%s::int", [1])).where("id", 1)) == {
        "label": "buy milk",
        "one": 1,
    }


def test_result_columns_come_in_the_order_written(db: Database, todos: str) -> None:
    # GIVEN aliases written between plain columns with alias()
    seed(db, todos)
    query = table(todos).select("id", alias("title", "name"), "done", alias(raw("1"), "one"))
    # THEN each row's keys come in that order
    row = db.one(query.where("id", 1))
    assert list(row or {}) == ["id", "name", "done", "one"]
    inserted = db.one(table(todos).insert({"title": "x"}).returning(alias("id", "key"), "title"))
    assert list(inserted or {}) == ["key", "title"]


def test_order_nulls_limit_and_offset(db: Database, todos: str) -> None:
    seed(db, todos)
    t = table(todos)
    by_due = t.order_by("due", "desc", nulls="last").order_by("id")
    assert titles(db.all(by_due))[-1] == "call mom"
    assert titles(db.all(t.order_by("due", nulls="first").order_by("id")))[0] == "call mom"
    assert titles(db.all(t.order_by("id").limit(2).offset(1))) == ["Write report", "call mom"]
    assert db.all(t.limit(0)) == []


def test_joins(db: Database, todos: str) -> None:
    seed(db, todos)
    users = create(db, "id int PRIMARY KEY, name text NOT NULL")
    db.execute(table(users).insert([{"id": 1, "name": "ann"}, {"id": 2, "name": "bob"}]))
    joined = (
        table(todos, "t")
        .join(users, "u.id", "t.user_id", alias="u")
        .select("t.title", "u.name")
        .where("u.name", "bob")
        .order_by("t.id")
    )
    assert db.all(joined) == [
        {"title": "Write report", "name": "bob"},
        {"title": "water plants", "name": "bob"},
    ]
    left = (
        table(todos)
        .left_join(users, f"{users}.id", "=", f"{todos}.user_id")
        .select(f"{todos}.title", who=f"{users}.name")
        .where(f"{todos}.user_id", None)
    )
    assert db.all(left) == [{"title": "fix bike", "who": None}]


def test_count(db: Database, todos: str) -> None:
    seed(db, todos)
    page = table(todos).where("done", False).order_by("id").limit(1).offset(1)
    assert db.all(page.count()) == [{"count": 3}]
    assert db.value(table(todos).count("due")) == 4


@pytest.mark.parametrize(
    "query",
    [
        lambda t, name: t.order_by("id").after([2]),
        lambda t, name: t.order_by("due", "desc").order_by("id", "desc").after([FEB, 9]),
        lambda t, name: t.where("done", False).or_where("user_id", 2).order_by("id").after([1]),
        lambda t, name: t.join(name, "u.id", "t.id", alias="u").order_by("t.id").after([1]),
        lambda t, name: t.select("user_id").distinct(),
        lambda t, name: t.select("user_id").where("done", False).group_by("user_id"),
        lambda t, name: t.select("user_id").group_by("user_id").having(raw("count(*) > 1")),
    ],
)
def test_count_is_the_number_of_rows_the_query_returns_without_paging(
    db: Database, todos: str, query: Any
) -> None:
    # GIVEN a query with filters, a keyset, distinct or groups
    seed(db, todos)
    base = query(table(todos, "t"), todos)
    # THEN count() is the number of rows it returns, its page aside
    expected = len(db.all(base))
    assert 0 < expected < len(ALL)
    assert db.value(base.count()) == expected
    assert db.value(base.limit(1).offset(1).count()) == expected


FEB: dt.date = dt.date(2030, 2, 1)


def test_keyset_pagination_walks_every_row_once(db: Database, todos: str) -> None:
    # GIVEN 23 rows whose sort key has ties
    db.execute(
        table(todos).insert(
            [{"title": f"t{i}", "due": dt.date(2030, 1, 1 + i % 4)} for i in range(23)]
        )
    )
    for direction in ("asc", "desc"):
        query = (
            table(todos).select("id", "due").order_by("due", direction).order_by("id", direction)
        )
        # WHEN paged five rows at a time with after()
        seen: list[dict[str, Any]] = []
        page = db.all(query.limit(5))
        while page:
            seen += page
            page = db.all(query.after(page[-1]).limit(5))
        # THEN the pages add up to the whole ordered table
        assert seen == db.all(query)
        assert len(seen) == 23


def test_for_update_inside_a_transaction(db: Database, todos: str) -> None:
    seed(db, todos)
    with db.transaction() as tx:
        locked = tx.all(
            table(todos).where("done", True).order_by("id").for_update(skip_locked=True)
        )
        tx.execute(
            table(todos).where("id", "in", [r["id"] for r in locked]).update({"done": False})
        )
    assert db.value(table(todos).where("done", True).count()) == 0


def test_between(db: Database, todos: str) -> None:
    seed(db, todos)
    t = table(todos).order_by("id")
    january, february = dt.date(2030, 1, 1), dt.date(2030, 2, 1)
    assert titles(db.all(t.where("due", "between", (january, february)))) == [
        "buy milk", "Write report", "fix bike",
    ]  # fmt: skip
    assert titles(db.all(t.where("due", "not between", [january, february]))) == ["water plants"]


def test_subqueries_and_exists(db: Database, todos: str) -> None:
    # GIVEN todos and a table of their labels
    seed(db, todos)
    labels = create(db, "todo_id bigint NOT NULL, label text NOT NULL")
    db.execute(table(labels).insert([{"todo_id": 1, "label": "x"}, {"todo_id": 4, "label": "x"},
                                     {"todo_id": 4, "label": "y"}]))  # fmt: skip
    t = table(todos).order_by("id")
    # THEN 'in' a select, a correlated EXISTS with ref(), and a scalar subquery filter as SQL does
    labelled = table(labels).select("todo_id").where("label", "x")
    assert titles(db.all(t.where("id", "in", labelled))) == ["buy milk", "fix bike"]
    assert titles(db.all(t.where("id", "not in", labelled).where("done", False))) == ["call mom"]
    with_y = table(labels).where(f"{labels}.todo_id", ref(f"{todos}.id")).where("label", "y")
    assert titles(db.all(t.where_exists(with_y))) == ["fix bike"]
    assert len(db.all(t.where_not_exists(with_y))) == 4
    newest = table(labels).select(raw("max(todo_id)")).where("label", "x")
    assert titles(db.all(t.where("id", ">=", newest))) == ["fix bike", "water plants"]
    # AND a write takes them too
    done = table(todos).where_exists(with_y).update({"done": True}).returning("title")
    assert db.all(done) == [{"title": "fix bike"}]


def test_distinct_on_keeps_the_first_row_of_each_group(db: Database, todos: str) -> None:
    # GIVEN todos of two users, WHEN asking each user's latest
    seed(db, todos)
    latest = (
        table(todos)
        .select("user_id", "title")
        .where("user_id", "!=", None)
        .distinct_on("user_id")
        .order_by("user_id")
        .order_by("id", "desc")
    )
    # THEN one row per user, the first in the order
    assert db.all(latest) == [
        {"user_id": 1, "title": "call mom"},
        {"user_id": 2, "title": "water plants"},
    ]
    assert db.value(latest.count()) == 2


def test_json_paths_select_filter_order_and_group(db: Database) -> None:
    # GIVEN events with a jsonb payload, one of whose keys has a quote and a percent
    name = create(db, "id serial PRIMARY KEY, payload jsonb NOT NULL")
    payloads = [
        {"kind": "open", "user": {"id": 7}, "it's 100%": "a", "n": [3, 1]},
        {"kind": "close", "user": {"id": 7}, "it's 100%": "b", "n": [2]},
        {"kind": "open", "user": {"id": 8}, "it's 100%": "a", "n": [1]},
    ]
    db.execute(table(name).insert([{"payload": Jsonb(p)} for p in payloads]))
    kind = json_path("payload", "->>", "kind")
    t = table(name)
    # THEN ->> and #>> read text, -> and #> json, in select lists, conditions, orders, groups
    rows = db.all(
        t.select("id", alias(kind, "kind"), first_n=json_path("payload", "#>", ["n", 0]))
        .where(json_path("payload", "#>>", ["user", "id"]), "7")
        .where(json_path("payload", "->>", "it's 100%"), "in", ["a", "b"])
        .order_by(json_path("payload", "->", "n"), "desc")
    )
    assert rows == [
        {"id": 1, "kind": "open", "first_n": 3},
        {"id": 2, "kind": "close", "first_n": 2},
    ]
    groups = t.select(alias(kind, "kind"), n=raw("count(*)")).group_by(kind).order_by(kind)
    assert db.all(groups) == [{"kind": "close", "n": 1}, {"kind": "open", "n": 2}]


def test_with_reads_a_named_query_and_a_write_in_it_runs_once(db: Database, todos: str) -> None:
    seed(db, todos)
    pending = table(todos).where("done", False).order_by("id", "desc").limit(2)
    query = table("pending").with_("pending", pending).select("title").order_by("title")
    assert titles(db.all(query)) == ["call mom", "fix bike"]
    # GIVEN a data-modifying WITH, THEN its rows are what the select reads
    moved = table(todos).where("done", True).delete().returning("title")
    assert titles(db.all(table("moved").with_("moved", moved).order_by("title"))) == [
        "Write report", "water plants",
    ]  # fmt: skip
    assert db.value(table(todos).count()) == 3


def test_union(db: Database, todos: str) -> None:
    seed(db, todos)
    t = table(todos).select("title")
    mine = t.where("user_id", 1)
    due_soon = t.where("due", "<", dt.date(2030, 2, 1)).order_by("id").limit(1)
    assert titles(db.all(mine.union(due_soon).order_by("title"))) == ["buy milk", "call mom"]
    both = mine.union(due_soon, all=True).order_by("title", "desc")
    assert titles(db.all(both)) == ["call mom", "buy milk", "buy milk"]
    assert db.value(both.count()) == 3
    assert titles(db.all(both.limit(1).offset(1))) == ["buy milk"]
    ids = (
        table(todos)
        .select("id")
        .where("done", True)
        .union(table(todos).select("id").where("id", 1))
    )
    assert titles(db.all(table(todos).where("id", "in", ids).order_by("id"))) == [
        "buy milk", "Write report", "water plants",
    ]  # fmt: skip


# -- streaming ---------------------------------------------------------------------------


@pytest.fixture
def events(db: Database) -> Iterator[str]:
    name = create(db, "id int PRIMARY KEY, day int NOT NULL")
    db.execute(table(name).insert([{"id": i, "day": i % 3} for i in range(1, 2501)]))
    yield name
    db.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))


def test_stream_reads_every_row_in_order_in_batches(db: Database, events: str) -> None:
    query = table(events).select("id").where("day", "!=", 5).order_by("id")
    with db.transaction() as tx:
        ids = [row["id"] for row in stream(tx, query, batch=1000)]
        # THEN the cursor is closed once the rows ran out
        assert tx.value("SELECT count(*) FROM pg_cursors WHERE name LIKE 'neonkit%'") == 0
    assert ids == list(range(1, 2501))


def test_a_stream_left_early_is_closed_with_its_transaction(db: Database, events: str) -> None:
    with db.transaction() as tx:
        first = next(stream(tx, table(events).order_by("id"), batch=10))
        also = list(stream(tx, table(events).where("id", "<=", 3).order_by("id"), batch=2))
        # two cursors at once, the first left open
        assert tx.value("SELECT count(*) FROM pg_cursors WHERE name LIKE 'neonkit%'") == 1
    assert first == {"id": 1, "day": 1}
    assert [row["id"] for row in also] == [1, 2, 3]
    with db.transaction() as tx:
        assert tx.value("SELECT count(*) FROM pg_cursors WHERE name LIKE 'neonkit%'") == 0


def test_the_server_reads_one_batch_at_a_time(db: Database, events: str) -> None:
    # GIVEN 2,500 rows streamed in batches of 100
    with db.transaction() as tx:
        rows = stream(tx, table(events), batch=100)
        # WHEN the first row is read
        assert next(rows)["id"] == 1
        # THEN the server has scanned one batch of the table, not all of it
        scanned = "SELECT seq_tup_read FROM pg_stat_xact_user_tables WHERE relname = %s"
        assert tx.value(scanned, [events]) == 100
        assert sum(1 for _ in rows) == 2499
        assert tx.value(scanned, [events]) == 2500


def test_stream_outside_a_transaction_is_refused(db: Database, events: str) -> None:
    with pytest.raises(QueryBuildError, match=r"pass the handle of `with db\.transaction"):
        stream(db, table(events))


# -- writes --------------------------------------------------------------------------------


def test_insert_returning_defaults_and_arrays(db: Database, todos: str) -> None:
    row = db.one(
        table(todos).insert({"title": "a", "tags": ["x", "y"]}).returning("id", "tags", "done")
    )
    assert row == {"id": 1, "tags": ["x", "y"], "done": False}
    empty = create(db, "id serial PRIMARY KEY, at timestamptz DEFAULT now()")
    assert db.one(table(empty).insert({}).returning("id")) == {"id": 1}
    stamped = db.one(
        table(todos)
        .insert({"title": "b", "created": raw("now() - interval '1 day'")})
        .returning("created")
    )
    assert stamped is not None
    assert stamped["created"] < dt.datetime.now(dt.UTC)


def test_insert_many_rows(db: Database, todos: str) -> None:
    rows = [{"title": f"t{i}", "done": i % 2 == 0} for i in range(50)]
    assert db.execute(table(todos).insert(rows)) == 50
    assert db.value(table(todos).where("done", True).count()) == 25


def test_upserts(db: Database, todos: str) -> None:
    seed(db, todos)
    t = table(todos)
    ignored = t.insert({"id": 1, "title": "ignored", "done": True}).on_conflict("id").ignore()
    assert db.execute(ignored) == 0
    assert db.value(t.select("title").where("id", 1)) == "buy milk"

    merged = (
        t.insert({"id": 1, "title": "merged", "done": True})
        .on_conflict("id")
        .merge()
        .returning("*")
    )
    assert db.one(merged) is not None
    assert db.one(t.select("title", "done").where("id", 1)) == {"title": "merged", "done": True}

    only_title = t.insert({"id": 2, "title": "two", "done": False}).on_conflict("id").merge("title")
    db.execute(only_title)
    assert db.one(t.select("title", "done").where("id", 2)) == {"title": "two", "done": True}

    explicit = (
        table(todos, "old")
        .insert({"id": 3, "title": "x"})
        .on_conflict("id")
        .merge({"title": "set", "done": raw("NOT old.done")})
    )
    db.execute(explicit)
    assert db.one(t.select("title", "done").where("id", 3)) == {"title": "set", "done": True}


def test_update_and_delete(db: Database, todos: str) -> None:
    seed(db, todos)
    t = table(todos)
    assert db.execute(t.where("user_id", 1).update({"done": True})) == 2
    changed = db.all(
        t.update({"title": raw("upper(title)")}).where("id", "in", [4, 5]).returning("id", "title")
    )
    assert sorted(changed, key=lambda r: r["id"]) == [
        {"id": 4, "title": "FIX BIKE"},
        {"id": 5, "title": "WATER PLANTS"},
    ]
    assert db.execute(t.update({"user_id": 9}, all_rows=True)) == 5
    assert db.all(t.where("id", 1).delete().returning("title")) == [{"title": "buy milk"}]
    assert db.execute(t.delete().where("done", True)) == 3  # user 1's were marked done
    assert db.execute(t.delete(all_rows=True)) == 1
    assert db.all(t) == []


def test_unguarded_writes_never_reach_the_database(db: Database, todos: str) -> None:
    seed(db, todos)
    with pytest.raises(QueryBuildError, match="all_rows=True"):
        db.execute(table(todos).delete())
    with pytest.raises(QueryBuildError, match="all_rows=True"):
        db.execute(table(todos).update({"done": True}))
    assert db.value(table(todos).count()) == 5


# -- hostile input -------------------------------------------------------------------------


@pytest.mark.parametrize("client_binding", [False, True], ids=["server-binding", "client-binding"])
def test_hostile_values_are_stored_and_read_back_verbatim(
    database_url: str, settings: Settings, client_binding: bool
) -> None:
    # GIVEN a table, reached with server-side or client-side parameter binding
    db = Database(database_url, settings=replace(settings, client_binding=client_binding))
    try:
        name = create(db, "id serial PRIMARY KEY, title text NOT NULL, tags text[]")
        t = table(name)
        # WHEN hostile strings are inserted, as values and inside arrays
        db.execute(t.insert([{"title": v, "tags": [v, "plain"]} for v in HOSTILE_VALUES]))
        # THEN each reads back exactly, and finds exactly its own row
        rows = db.all(t.order_by("id"))
        assert [r["title"] for r in rows] == HOSTILE_VALUES
        assert [r["tags"] for r in rows] == [[v, "plain"] for v in HOSTILE_VALUES]
        for value in HOSTILE_VALUES:
            assert titles(db.all(t.where("title", value))) == [value]
            assert titles(db.all(t.where("title", "in", [value]))) == [value]
            assert titles(db.all(t.where("tags", "@>", [value]))) == [value]
        assert db.value(t.count()) == len(HOSTILE_VALUES)
    finally:
        db.close()


def test_nul_is_refused_before_the_database(db: Database, todos: str) -> None:
    with pytest.raises(QueryBuildError, match=r"column 'title'.*NUL"):
        db.execute(table(todos).insert({"title": "a\x00b"}))
    with pytest.raises(QueryBuildError, match=r"column 'tags'.*NUL"):
        db.all(table(todos).where("tags", "&&", ["\x00"]))


@pytest.mark.parametrize(
    ("value", "kind"),
    [({"a": 1}, "a dict"), (object(), "'object'"), ({"x"}, "a set"), ([1, "a"], "int, str")],
)
def test_values_psycopg_cannot_adapt_are_refused_before_the_database(
    db: Database, value: Any, kind: str
) -> None:
    # GIVEN values psycopg refuses when it runs the query (once a 500 or a 422)
    name = create(db, "id int PRIMARY KEY, data jsonb, tags text[]")
    db.execute(table(name).insert({"id": 1, "data": Jsonb({"a": 1}), "tags": ["x"]}))
    # THEN the builder refuses them, naming the column and the type, and nothing is written
    for column in ("data", "tags"):
        with pytest.raises(QueryBuildError, match=rf"column '{column}': .*{kind}"):
            db.execute(table(name).insert({"id": 2, column: value}))
        with pytest.raises(QueryBuildError, match=rf"column '{column}': .*{kind}"):
            db.execute(table(name).where("id", 1).update({column: value}))
    assert db.all(table(name)) == [{"id": 1, "data": {"a": 1}, "tags": ["x"]}]
    # a dict wrapped as Jsonb is what a jsonb column takes
    assert db.value(table(name).where("data", "@>", Jsonb({"a": 1})).count()) == 1


def test_a_recorded_query_keeps_the_values_it_was_given(db: Database) -> None:
    # GIVEN a query recorded with a nested list and a JSON document (e.g. at module level)
    name = create(db, "id serial PRIMARY KEY, grid text[], doc jsonb")
    grid, doc = [["a"], ["b"]], {"tags": ["x"]}
    insert = table(name).insert({"grid": grid, "doc": Jsonb(doc)}).returning("grid", "doc")
    # WHEN the caller's objects change afterwards
    grid[1][0] = "changed"
    doc["tags"].append("changed")
    # THEN every run stores what the query was given
    first, second = db.one(insert), db.one(insert)
    assert first == second == {"grid": [["a"], ["b"]], "doc": {"tags": ["x"]}}


@pytest.mark.parametrize("client_binding", [False, True], ids=["server-binding", "client-binding"])
def test_hostile_identifiers_work_as_real_names(
    database_url: str, settings: Settings, client_binding: bool
) -> None:
    # GIVEN a table and columns whose names hold quotes, %s, %(x)s and unicode
    db = Database(database_url, settings=replace(settings, client_binding=client_binding))
    tname = f't%s {uuid.uuid4().hex[:8]} "q" ☃'
    columns = sql.SQL(", ").join(
        sql.SQL("{} text").format(sql.Identifier(n)) for n in HOSTILE_NAMES
    )
    try:
        db.execute(
            sql.SQL("CREATE TABLE {} (id serial PRIMARY KEY, {})").format(
                sql.Identifier(tname), columns
            )
        )
        t = table(tname)
        row = {n: f"value of {n}" for n in HOSTILE_NAMES}
        # WHEN every builder feature uses those names
        inserted = db.one(t.insert(row).returning(*HOSTILE_NAMES))
        db.execute(t.insert({n: "second" for n in HOSTILE_NAMES}))
        # THEN they address the real columns
        assert inserted == row
        for n in HOSTILE_NAMES:
            assert db.value(t.select(n).where(n, f"value of {n}")) == f"value of {n}"
            assert db.all(
                t.select(n).order_by(n).order_by("id").after(["second", 99]).limit(1)
            ) == [{n: "value of " + n}]
            assert db.one(t.select(x=n).where(n, "in", ["second"]).order_by(n)) == {"x": "second"}
            assert (
                db.value(table(tname, "a%s").select(f"a%s.{n}").where(f"a%s.{n}", "second"))
                == "second"
            )
        first = HOSTILE_NAMES[0]
        assert (
            db.execute(t.where(first, "second").update({n: "changed" for n in HOSTILE_NAMES})) == 1
        )
        assert (
            db.execute(t.insert({"id": 1, first: "x"}).on_conflict("id").merge({first: "merged"}))
            == 1
        )
        assert db.value(t.select(first).where("id", 1)) == "merged"
        assert db.execute(t.where(HOSTILE_NAMES[1], "changed").delete()) == 1
        assert db.value(t.count(first)) == 1
    finally:
        db.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(tname)))
        db.close()


def test_the_same_shape_runs_many_times(db: Database, todos: str) -> None:
    # prepared statements (after a few runs on a direct connection) keep the shape's text
    seed(db, todos)
    for i in range(1, 6):
        for _ in range(3):
            assert db.value(table(todos).select("id").where("id", i).limit(1)) == i


def test_builders_in_a_transaction_and_deferred(db: Database, todos: str) -> None:
    # GIVEN a transaction that queues builder statements without waiting for them
    with db.transaction() as tx:
        inserted = tx.defer(table(todos).insert({"title": "queued"}).returning("id"))
        updated = tx.defer(table(todos).where("title", "queued").update({"done": True}))
    # THEN their results are there once it has committed
    assert inserted.one() == {"id": 1}
    assert updated.rowcount == 1
    assert db.one(table(todos).select("title", "done")) == {"title": "queued", "done": True}
