"""The seed guide's speed tips, measured on the kit: the native driver, and parameter binding.

  implementation   psycopg's C implementation (psycopg[binary], the analog of pg-native)
                   against its pure-Python one (PSYCOPG_IMPL=python, over the system's libpq)
  binding          server-side (the default: the extended protocol, values sent apart),
                   client-side (Settings(client_binding=True): psycopg.ClientCursor, values
                   escaped by libpq into the text), and server-side prepared statements
                   (Settings(prepare=True): named after the 5th run, direct endpoint only)

For a warm get (one row by key) and a 50-row page of the kit's fixture app's notes, through
neonkit's `db` and the builder, without and with 5 ms added each way. Each implementation runs in
its own process (PSYCOPG_IMPL is read at import). TLS (sslmode=require) in both.

    python bench/tips.py SPEC_JSON RESULT_FILE      (one implementation; run.py starts it)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
from harness import FIXTURE, Server, p50, summary, timed
from neonkit import Database, Settings, db, table, using

from tests.kit.support.proxy import FaultProxy

LATENCY = 0.005
MODES: dict[str, dict[str, Any]] = {
    "server-side binding": {"prepare": False},
    "client-side binding": {"prepare": False, "client_binding": True},
    "prepared statements": {"prepare": True},
}


def measure(server: Server, admin: psycopg.Connection[Any]) -> dict[str, Any]:
    """Both implementations, each in a child process."""
    results: dict[str, Any] = {}
    for _ in range(50):  # a full page of notes, whatever ran before
        FIXTURE.insert(admin)
    spec = {
        "host": server.host,
        "port": server.port,
        "url": server.guide_url(),
        "seed_id": FIXTURE.insert(admin),
    }
    for impl in ("c", "python"):
        env = {**os.environ, "PSYCOPG_IMPL": "binary" if impl == "c" else "python"}
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            done = subprocess.run(
                [sys.executable, __file__, json.dumps(spec), out.name],
                env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
            if done.returncode != 0:
                results[impl] = {"error": done.stderr.strip().splitlines()[-1:]}
                continue
            results[impl] = json.loads(Path(out.name).read_text())
    return results


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    notes = table("notes").select("id", "title", "body", "created_at")
    ops: dict[str, Callable[[], Any]] = {
        "get (1 row)": lambda: db.one(notes.where("id", spec["seed_id"])),
        "list (50 rows)": lambda: db.all(notes.order_by("id").limit(50)),
    }
    result: dict[str, Any] = {
        "impl": psycopg.pq.__impl__,
        "libpq": psycopg.pq.version(),
        "rows": [],
    }
    with FaultProxy(spec["host"], spec["port"], name="tips") as proxy:
        url = psycopg.conninfo.make_conninfo(spec["url"], host="127.0.0.1", port=str(proxy.port))
        databases = {
            name: Database(url, settings=Settings(url=url, **options))
            for name, options in MODES.items()
        }
        try:
            for op_name, op in ops.items():
                for database in databases.values():  # connect, warm, prepare
                    with using(database):
                        rows = [op() for _ in range(8)][-1]
                        if op_name.startswith("list") and len(rows) != 50:
                            raise SystemExit(f"expected 50 rows, got {len(rows)}")
                for latency, rounds in ((0.0, 300), (LATENCY, 25)):
                    proxy.latency(latency)
                    samples = _interleaved(databases, op, rounds)
                    base = p50(samples["server-side binding"])
                    for mode, values in samples.items():
                        result["rows"].append({
                            "operation": op_name,
                            "latency_ms_each_way": latency * 1000,
                            "mode": mode,
                            **summary(values),
                            "ratio": round(p50(values) / base, 3),
                        })  # fmt: skip
                proxy.latency(0)
        finally:
            for database in databases.values():
                database.close()
    return result


def _interleaved(databases: dict[str, Database], op: Any, rounds: int) -> dict[str, list[float]]:
    names = list(databases)
    samples: dict[str, list[float]] = {name: [] for name in names}
    for i in range(rounds):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            with using(databases[name]):
                samples[name].append(timed(op))
    return samples


if __name__ == "__main__":
    result = _child(json.loads(sys.argv[1]))
    Path(sys.argv[2]).write_text(json.dumps(result))
