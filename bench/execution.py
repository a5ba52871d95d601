"""What the kit adds to a query's round trip: neonkit.Database against plain psycopg.

    python bench/execution.py            (from the repository root, with the project's venv)

Starts an embedded PostgreSQL in a temporary folder (or uses BENCH_DATABASE_URL), fills a
table, then times, per call and warm:
  kit builder   db.all(table(...)...)              build + compile + run + fetch
  kit text      db.all("SELECT ...", params)       run + fetch
  psycopg       conn.execute(sql, params).fetchall()  on a connection with the kit's settings
The kit's calls and psycopg's take turns (in alternating order) so both meet the same server
conditions. Results go to bench/results/execution.json.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
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
from localdev.testing import postgres_server  # noqa: E402
from neonkit import Database, Settings, table  # noqa: E402

TARGET_RATIO = 1.1  # the kit's builder path at most 10% slower than psycopg alone
TABLE = "bench_todos"
SELECT_SQL = "SELECT id, title FROM bench_todos WHERE done = %s ORDER BY id LIMIT %s"


def database() -> contextlib.AbstractContextManager[str]:
    """BENCH_DATABASE_URL, or an embedded PostgreSQL started for this run."""
    return postgres_server(env="BENCH_DATABASE_URL")


def prepare(db: Database, rows: int) -> None:
    db.execute(f"DROP TABLE IF EXISTS {TABLE}")
    db.execute(
        f"CREATE TABLE {TABLE} (id bigserial PRIMARY KEY, title text NOT NULL,"
        " done boolean NOT NULL DEFAULT false, due date)"
    )
    db.execute(
        table(TABLE).insert(
            [
                {"title": f"todo {i}", "done": i % 3 == 0, "due": dt.date(2030, 1, 1)}
                for i in range(rows)
            ]
        )
    )
    db.execute(f"ANALYZE {TABLE}")


def cases(db: Database, conn: psycopg.Connection[Any]) -> dict[str, dict[str, Callable[[], Any]]]:
    """name -> {implementation: one call}; each case's implementations return the same rows."""
    builder = table(TABLE).select("id", "title").where("done", False).order_by("id")
    by_id = table(TABLE).where("id", 7)
    by_id_sql = by_id.compile()
    insert = table(TABLE).insert({"title": "new", "done": False}).returning("id")
    insert_sql = insert.compile()
    return {
        "select 20 rows": {
            "kit builder": lambda: db.all(builder.limit(20)),
            "kit text": lambda: db.all(SELECT_SQL, [False, 20]),
            "psycopg": lambda: conn.execute(SELECT_SQL, [False, 20]).fetchall(),
        },
        "select 1 row by key": {
            "kit builder": lambda: db.one(by_id),
            "psycopg": lambda: conn.execute(by_id_sql.text, by_id_sql.params).fetchone(),
        },
        "insert 1 row returning": {
            "kit builder": lambda: db.one(insert),
            "psycopg": lambda: conn.execute(insert_sql.text, insert_sql.params).fetchone(),
        },
    }


def check_same_rows(impls: dict[str, Callable[[], Any]], name: str) -> None:
    if name.startswith("insert"):
        return
    results = [impl() for impl in impls.values()]
    first = results[0] if isinstance(results[0], list) else [results[0]]
    for other in results[1:]:
        if (other if isinstance(other, list) else [other]) != first:
            raise SystemExit(f"{name}: the implementations return different rows")


def measure(impls: dict[str, Callable[[], Any]], iterations: int) -> dict[str, list[float]]:
    """Per-call microseconds; the implementations take turns, in rotating order."""
    samples: dict[str, list[float]] = {name: [] for name in impls}
    names = list(impls)
    clock = time.perf_counter_ns
    for i in range(iterations):
        shift = i % len(names)
        for name in names[shift:] + names[:shift]:
            f = impls[name]
            start = clock()
            f()
            samples[name].append((clock() - start) / 1000)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=5000, help="calls per implementation")
    parser.add_argument("--rows", type=int, default=1000, help="rows in the table")
    parser.add_argument(
        "--output", type=Path, default=ROOT / "bench" / "results" / "execution.json"
    )
    args = parser.parse_args()

    with database() as url:
        db = Database(url, settings=Settings(url=url))
        try:
            prepare(db, args.rows)
            # psycopg runs on the kit's own connection: the same settings (autocommit,
            # dict_row, prepare_threshold, timeouts) and the same server process, whose
            # placement alone can move a loopback round trip by 10%.
            conn = db.connection
            assert conn is not None
            results: list[dict[str, Any]] = []
            print(f"server {conn.info.parameter_status('server_version')}, "
                  f"prepare_threshold={conn.prepare_threshold}")  # fmt: skip
            print(f"{'case':24} {'impl':12} {'median us':>10} {'p90 us':>9} {'x psycopg':>10}")
            for name, impls in cases(db, conn).items():
                check_same_rows(impls, name)
                measure(impls, 300)  # warm: prepared statements, caches
                samples = measure(impls, args.iterations)
                baseline = statistics.median(samples["psycopg"])
                for impl, values in samples.items():
                    median = statistics.median(values)
                    p90 = statistics.quantiles(values, n=10)[-1]
                    results.append({
                        "case": name, "impl": impl, "median_us": round(median, 2),
                        "p90_us": round(p90, 2), "ratio_to_psycopg": round(median / baseline, 3),
                        "iterations": len(values),
                    })  # fmt: skip
                    print(
                        f"{name:24} {impl:12} {median:10.1f} {p90:9.1f} {median / baseline:9.2f}x"
                    )
                print()
            if db.reconnects or db.connection is not conn:
                raise SystemExit("the kit reconnected during the run; the comparison is void")
            prepare_threshold = conn.prepare_threshold
        finally:
            db.close()

    ratio = next(r["ratio_to_psycopg"] for r in results if r["impl"] == "kit builder")
    met = ratio <= TARGET_RATIO
    verdict = "MET" if met else "MISSED"
    print(f"target: kit builder select {ratio:.2f}x psycopg, <= {TARGET_RATIO}x: {verdict}")
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps({
        "benchmark": "execution",
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "psycopg": psycopg.__version__,
        "database": "BENCH_DATABASE_URL" if os.environ.get("BENCH_DATABASE_URL") else "embedded",
        "prepare_threshold": prepare_threshold,
        "target_ratio": TARGET_RATIO,
        "target_met": met,
        "results": results,
    }, indent=2) + "\n")  # fmt: skip
    print(f"written: {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
