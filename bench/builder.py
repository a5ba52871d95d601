"""How long building a query takes: the kit, the same SQL written by hand, and pypika.

    python bench/builder.py            (from the repository root, with the project's venv)

For each typical shape, one call builds the query and renders its SQL text:
  kit       table(...)...compile()                 (build + compile; the shape's SQL cached)
  nocache   the same, rendering the shape's SQL every time (what the cache saves)
  psycopg   sql.SQL(...).format(...).as_string()   (the same text, composed by hand each time)
  pypika    Query...get_sql()                      (build + render; values as %s parameters)
Times are per call, from batches timed with perf_counter_ns; the implementations take turns
batch by batch so that none profits from a quieter moment. Results go to
bench/results/builder.json.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layer" / "python"), str(ROOT)]  # the layer's layout, as in Lambda

import psycopg  # noqa: E402
from neonkit import table  # noqa: E402
from neonkit.query._shapes import shape  # noqa: E402
from neonkit.query._sql import statement_sql  # noqa: E402
from psycopg import sql  # noqa: E402
from pypika import Parameter, PostgreSQLQuery, Table, Tuple  # noqa: E402
from pypika import functions as fn  # noqa: E402

TARGET_US = 25.0  # a typical select, build + compile (Knex's toSQL: 10-15 us on these shapes)
DUE = dt.date(2030, 1, 1)
ROWS_50 = [{"title": f"todo {i}", "done": False, "due": DUE} for i in range(50)]

# -- the kit -------------------------------------------------------------------------------


def select() -> Any:
    return table("todos").select("id", "title").where("done", False).order_by("id").limit(20)


def keyset() -> Any:
    return (
        table("todos")
        .select("id", "title", "due")
        .where("done", False)
        .order_by("due")
        .order_by("id")
        .after({"due": DUE, "id": 41})
        .limit(20)
    )


def count() -> Any:
    return table("todos").where("done", False).count()


def insert() -> Any:
    return table("todos").insert({"title": "x", "done": False}).returning("id")


def insert_50() -> Any:
    return table("todos").insert(ROWS_50)


def update() -> Any:
    return table("todos").where("id", 7).update({"title": "x", "done": True})


def kit(build: Callable[[], Any]) -> Callable[[], Any]:
    return lambda: build().compile()


def nocache(build: Callable[[], Any]) -> Callable[[], Any]:
    def compile_() -> tuple[str, list[Any]]:
        params: list[Any] = []
        return statement_sql(shape(build().statement, params)).as_string(None), params

    return compile_


# -- the same SQL, composed by hand with psycopg.sql ----------------------------------------

ident = sql.Identifier
COMMA = sql.SQL(", ")


def hand_select() -> tuple[str, list[Any]]:
    q = sql.SQL("SELECT {} FROM {} WHERE {} = %s ORDER BY {} ASC LIMIT %s").format(
        COMMA.join([ident("id"), ident("title")]), ident("todos"), ident("done"), ident("id")
    )
    return q.as_string(None), [False, 20]


def hand_keyset() -> tuple[str, list[Any]]:
    q = sql.SQL(
        "SELECT {} FROM {} WHERE {} = %s AND ({}, {}) > (%s, %s) ORDER BY {} ASC, {} ASC LIMIT %s"
    ).format(
        COMMA.join([ident("id"), ident("title"), ident("due")]),
        ident("todos"),
        ident("done"),
        ident("due"),
        ident("id"),
        ident("due"),
        ident("id"),
    )
    return q.as_string(None), [False, DUE, 41, 20]


def hand_count() -> tuple[str, list[Any]]:
    q = sql.SQL("SELECT count(*) AS {} FROM {} WHERE {} = %s").format(
        ident("count"), ident("todos"), ident("done")
    )
    return q.as_string(None), [False]


def hand_insert() -> tuple[str, list[Any]]:
    row = {"title": "x", "done": False}
    q = sql.SQL("INSERT INTO {} ({}) VALUES ({}) RETURNING {}").format(
        ident("todos"),
        COMMA.join(map(ident, row)),
        COMMA.join([sql.SQL("%s")] * len(row)),
        ident("id"),
    )
    return q.as_string(None), list(row.values())


def hand_insert_50() -> tuple[str, list[Any]]:
    columns = list(ROWS_50[0])
    one = sql.SQL("({})").format(COMMA.join([sql.SQL("%s")] * len(columns)))
    q = sql.SQL("INSERT INTO {} ({}) VALUES {}").format(
        ident("todos"), COMMA.join(map(ident, columns)), COMMA.join([one] * len(ROWS_50))
    )
    return q.as_string(None), [row[c] for row in ROWS_50 for c in columns]


def hand_update() -> tuple[str, list[Any]]:
    values = {"title": "x", "done": True}
    q = sql.SQL("UPDATE {} SET {} WHERE {} = %s").format(
        ident("todos"),
        COMMA.join([sql.SQL("{} = %s").format(ident(c)) for c in values]),
        ident("id"),
    )
    return q.as_string(None), [*values.values(), 7]


# -- pypika ------------------------------------------------------------------------------

Q = PostgreSQLQuery
P = Parameter("%s")


def pypika_select() -> str:
    t = Table("todos")
    return str(
        Q.from_(t).select(t.id, t.title).where(t.done == P).orderby(t.id).limit(20).get_sql()
    )


def pypika_keyset() -> str:
    t = Table("todos")
    q = (
        Q.from_(t)
        .select(t.id, t.title, t.due)
        .where(t.done == P)
        .where(Tuple(t.due, t.id) > Tuple(P, P))
        .orderby(t.due)
        .orderby(t.id)
        .limit(20)
    )
    return str(q.get_sql())


def pypika_count() -> str:
    t = Table("todos")
    return str(Q.from_(t).select(fn.Count("*").as_("count")).where(t.done == P).get_sql())


def pypika_insert() -> str:
    t = Table("todos")
    return str(Q.into(t).columns("title", "done").insert(P, P).returning("id").get_sql())  # type: ignore[operator]


def pypika_insert_50() -> str:
    t = Table("todos")
    q = Q.into(t).columns(*ROWS_50[0])
    for _ in ROWS_50:
        q = q.insert(P, P, P)
    return str(q.get_sql())


def pypika_update() -> str:
    t = Table("todos")
    return str(Q.update(t).set(t.title, P).set(t.done, P).where(t.id == P).get_sql())


CASES: dict[str, tuple[Callable[[], Any], Callable[[], Any], Callable[[], Any]]] = {
    "select where/order/limit": (select, hand_select, pypika_select),
    "keyset page": (keyset, hand_keyset, pypika_keyset),
    "count": (count, hand_count, pypika_count),
    "insert 1 row returning": (insert, hand_insert, pypika_insert),
    "insert 50 rows": (insert_50, hand_insert_50, pypika_insert_50),
    "update where": (update, hand_update, pypika_update),
}
SHAPES: dict[str, dict[str, Callable[[], Any]]] = {
    name: {"kit": kit(build), "nocache": nocache(build), "psycopg": hand, "pypika": pypika}
    for name, (build, hand, pypika) in CASES.items()
}


def check_same_sql() -> None:
    """The kit (cached or not) and the hand-written baseline: the very same SQL and parameters."""
    for case, impls in SHAPES.items():
        compiled = impls["kit"]()
        expected = impls["psycopg"]()
        for got in ((compiled.text, list(compiled.params)), impls["nocache"]()):
            if got != expected:
                raise SystemExit(f"{case}: the kit and the baseline differ:\n{got}\n{expected}")
        if "%s" not in impls["pypika"]():
            raise SystemExit(f"{case}: pypika produced no placeholder")


def batch_size(fn_: Callable[[], Any], target_ns: int) -> int:
    """Calls per batch so that one batch takes about `target_ns`."""
    n = 1
    while True:
        start = time.perf_counter_ns()
        for _ in range(n):
            fn_()
        if time.perf_counter_ns() - start >= target_ns // 4 or n >= 100_000:
            return max(1, n * target_ns // max(1, time.perf_counter_ns() - start) // 1)
        n *= 2


def measure(
    impls: dict[str, Callable[[], Any]], batches: int, target_ns: int
) -> dict[str, list[float]]:
    """Per-call times in microseconds, one sample per batch, implementations interleaved."""
    sizes = {name: batch_size(f, target_ns) for name, f in impls.items()}
    samples: dict[str, list[float]] = {name: [] for name in impls}
    names = list(impls)
    for round_ in range(batches):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            f, n = impls[name], sizes[name]
            start = time.perf_counter_ns()
            for _ in range(n):
                f()
            samples[name].append((time.perf_counter_ns() - start) / n / 1000)
    return samples


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=200, help="samples per implementation")
    parser.add_argument("--batch-ms", type=float, default=2.0, help="length of one batch")
    parser.add_argument("--output", type=Path, default=ROOT / "bench" / "results" / "builder.json")
    args = parser.parse_args()

    check_same_sql()
    for impls in SHAPES.values():  # warm up: imports, caches, the kit's compiled shapes
        for f in impls.values():
            for _ in range(200):
                f()

    results: list[dict[str, Any]] = []
    print(f"{'shape':26} {'impl':8} {'median us':>10} {'p90 us':>9} {'x psycopg':>10}")
    for case, impls in SHAPES.items():
        samples = measure(impls, args.batches, int(args.batch_ms * 1_000_000))
        baseline = statistics.median(samples["psycopg"])
        for name, values in samples.items():
            median = statistics.median(values)
            row = {
                "shape": case,
                "impl": name,
                "median_us": round(median, 3),
                "p90_us": round(p90(values), 3),
                "ratio_to_psycopg": round(median / baseline, 3),
                "batches": len(values),
            }
            results.append(row)
            print(
                f"{case:26} {name:8} {median:10.2f} {row['p90_us']:9.2f} {median / baseline:9.2f}x"
            )
        print()

    kit_select_us = next(r["median_us"] for r in results if r["impl"] == "kit")
    kit_insert_us = next(
        r["median_us"] for r in results if r["impl"] == "kit" and r["shape"].startswith("insert 1")
    )
    verdict = kit_select_us <= TARGET_US and kit_insert_us <= TARGET_US
    print(
        f"target: kit select {kit_select_us:.2f} us and single-row insert "
        f"{kit_insert_us:.2f} us, each <= {TARGET_US:g} us: {'MET' if verdict else 'MISSED'}"
    )

    args.output.parent.mkdir(parents=True, exist_ok=True)
    report = {
        "benchmark": "builder",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "psycopg": psycopg.__version__,
        "machine": platform.machine(),
        "target_us": TARGET_US,
        "target_met": verdict,
        "results": results,
    }
    args.output.write_text(json.dumps(report, indent=2) + "\n")
    print(f"written: {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
