"""Every benchmark in one run: round trips, latency, local overhead, cold start, the guide's
tips, layer size, the builder and execution micro-benchmarks, the validation libraries.

    python bench/run.py                   (`make bench`; from the repository root)
    python bench/run.py --only round_trips,latency
    BENCH_DATABASE_URL=postgresql://... python bench/run.py

Starts an embedded PostgreSQL behind a TLS front and a counting proxy on loopback (or uses
BENCH_DATABASE_URL: a scratch database; the migrations are applied and rows written), prints
the tables and the targets, and writes everything to bench/results/run-py<X.Y>.json. Every
figure is measured in the same run as its baseline. Takes about three minutes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psycopg
from harness import RESULTS, ROOT, database_server, load_function, python_tag

SECTIONS = (
    "round_trips",
    "latency",
    "overhead",
    "cold_start",
    "tips",
    "layer_size",
    "builder",
    "execution",
    "validation",
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args()
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {', '.join(SECTIONS)}")
    output = args.output or RESULTS / f"run-py{python_tag()}.json"
    report: dict[str, Any] = {"machine": machine(), "sections": {}}
    started = time.monotonic()
    print(describe(report["machine"]))
    with database_server() as server:
        admin = psycopg.connect(server.plain_url(), autocommit=True)
        admin.execute(
            "INSERT INTO todos (owner, title)"
            " SELECT 'anonymous', 'seed ' || g FROM generate_series(1, 60) g"
        )
        seed_row = admin.execute("SELECT min(id) FROM todos").fetchone()
        assert seed_row is not None
        seed_id = int(seed_row[0])
        handler = load_function()
        results = report["sections"]
        for section in chosen:
            t0 = time.monotonic()
            print(f"\n== {section} ", end="", flush=True)
            results[section] = run_section(section, server, admin, handler, seed_id)
            results[section]["seconds"] = round(time.monotonic() - t0, 1)
            print(f"({results[section]['seconds']} s)")
            print(render(section, results[section]))
        admin.close()
    report["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    report["targets"] = targets(report["sections"])
    report["seconds"] = round(time.monotonic() - started, 1)
    print("\n== targets")
    for target in report["targets"]:
        verdict = "MET   " if target["met"] else "MISSED"
        print(f"  {verdict} {target['target']}: {target['measured']}")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(f"\nwritten: {output.relative_to(ROOT) if output.is_relative_to(ROOT) else output}"
          f" ({report['seconds']} s)")  # fmt: skip
    return 0


def run_section(
    section: str, server: Any, admin: psycopg.Connection[Any], handler: Any, seed_id: int
) -> dict[str, Any]:
    if section == "round_trips":
        import round_trips

        return round_trips.count(server, admin, handler)
    if section == "latency":
        import round_trips

        return round_trips.latency(server, admin, handler)
    if section == "overhead":
        import overhead

        return overhead.measure(server, admin, handler)
    if section == "cold_start":
        import cold_start

        return cold_start.measure(server, seed_id)
    if section == "tips":
        import tips

        return tips.measure(server, seed_id)
    if section == "layer_size":
        import layer_size

        return layer_size.measure()
    return micro_benchmark(section, server)


def micro_benchmark(name: str, server: Any) -> dict[str, Any]:
    """builder.py / execution.py, with bounded sizes, their JSON taken in."""
    output = RESULTS / f"{name}-py{python_tag()}.json"
    argv = [sys.executable, str(ROOT / "bench" / f"{name}.py"), "--output", str(output)]
    if name == "builder":
        argv += ["--batches", "100"]
    elif name == "execution":
        argv += ["--iterations", "2000"]
    env = {**os.environ, "BENCH_DATABASE_URL": server.plain_url()}
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout).strip().splitlines()[-3:]}
    return dict(json.loads(output.read_text()))


# -- the machine ------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "arch": platform.machine(),
        "python": platform.python_version(),
        "psycopg": psycopg.__version__,
        "libpq": psycopg.pq.version(),
        "database": "BENCH_DATABASE_URL" if os.environ.get("BENCH_DATABASE_URL") else "embedded",
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
    }


def describe(m: dict[str, Any]) -> str:
    return (
        f"{m['cpu']}, {m['cores']} cores, {m['arch']}; Python {m['python']}, "
        f"psycopg {m['psycopg']} (libpq {m['libpq']}); database: {m['database']}; "
        f"load average {m['load_average_at_start']}"
    )


# -- tables -----------------------------------------------------------------------------


def table(headers: list[str], rows: list[list[Any]]) -> str:
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        pairs = enumerate(zip(row, widths, strict=True))
        lines.append("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs))
        if n == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def spread(counts: list[int]) -> str:
    low, high = min(counts), max(counts)
    return str(low) if low == high else f"{low}-{high}"


def render(section: str, r: dict[str, Any]) -> str:
    if "error" in r:
        return f"  error: {r['error']}"
    if section == "round_trips":
        parts = [table(
            ["request (warm)", "kit", "connect per request", "BEGIN/COMMIT"],
            [[w["operation"], spread(w["kit"]), spread(w["connect per request"]),
              spread(w["BEGIN/COMMIT"])] for w in r["warm"]],
        )]  # fmt: skip
        idle = r["idle_gap"]
        parts.append(table(
            [f"first request after {idle['idle_ping_after_s']} s idle", "kit"],
            [[name, spread(c)] for name, c in idle.items() if isinstance(c, list)],
        ))  # fmt: skip
        parts.append(table(
            ["connect (SCRAM login)", "round trips"],
            [[c["connect"], spread(c["flights"])] for c in r["connect"]],
        ))  # fmt: skip
        parts.append(table(
            ["first request of a sandbox (get)", "round trips"],
            [[c["request"], spread(c["flights"])] for c in r["cold_request"]],
        ))  # fmt: skip
        parts.append(
            "  first 8 gets on a new connection: "
            + ", ".join(map(str, r["first_calls_after_connect"]))
        )
        return "\n\n".join(parts)
    if section == "latency":
        rt = r["bare_round_trip"]
        head = (
            f"  {r['latency_each_way_ms']:g} ms added each way; an empty query: "
            f"{rt['local']['p50_ms']} ms local, {rt['with_latency']['p50_ms']} ms with latency"
        )
        body = table(
            ["request (warm), p50 ms", "kit local", "kit", "x (RT+local)", "connect per request",
             "BEGIN/COMMIT"],
            [[w["operation"], w["kit_local"]["p50_ms"], w["kit"]["p50_ms"], w["ratio_nominal"],
              w["connect per request"]["p50_ms"], w["BEGIN/COMMIT"]["p50_ms"]] for w in r["warm"]],
        )  # fmt: skip
        cold = table(
            ["first request of a sandbox, p50 ms", "kit"],
            [[c["request"], c["p50_ms"]] for c in r["cold_request"]],
        )
        return "\n\n".join([head, body, cold])
    if section == "overhead":
        body = table(
            ["request, p50 ms (x psycopg)", "psycopg", "neonkit", "resolver", "handler"],
            [[row["operation"]] + [f"{row[k]['p50_ms']} ({row[k]['ratio']}x)"
              for k in ("psycopg", "neonkit", "resolver", "handler")] for row in r["rows"]],
        )  # fmt: skip
        prof = r["profile_get"]
        shares = ", ".join(f"{k} {v:.0%}" for k, v in prof["share"].items())
        return f"{body}\n\n  where a warm get's own time goes (cProfile): {shares}"
    if section == "cold_start":
        parts = []
        for condition, c in r["conditions"].items():
            parts.append(table(
                [f"import, {condition}", "p50 ms", "min ms", "x psycopg"],
                [[name, v["p50_ms"], v["min_ms"], v["ratio"]] for name, v in c["import"].items()],
            ))  # fmt: skip
            parts.append(table(
                [f"fresh process, {condition} (ms)", "import", "1st request", "2nd", "cold",
                 "peak RSS MB"],
                [[name, v["import_ms"], v["first_request_ms"], v["second_request_ms"],
                  v["cold_ms"], v["peak_rss_mb"]] for name, v in c["first_request"].items()],
            ))  # fmt: skip
        return "\n\n".join(parts)
    if section == "tips":
        parts = []
        for impl, res in r.items():
            if not isinstance(res, dict) or "rows" not in res:
                if impl != "seconds":
                    parts.append(f"  {impl}: {res}")
                continue
            parts.append(table(
                [f"psycopg {impl} (libpq {res['libpq']}), p50 ms", "latency", "p50", "x"],
                [[f"{x['operation']}, {x['mode']}", f"{x['latency_ms_each_way']:g}",
                  x["p50_ms"], x["ratio"]] for x in res["rows"]],
            ))  # fmt: skip
        return "\n\n".join(parts)
    if section == "layer_size":
        rows = []
        for arch, a in r["architectures"].items():
            if "error" in a:
                rows.append([arch, "error", str(a["error"]), "", ""])
                continue
            built, compiled = a["as built"], a["with bytecode"]
            rows.append([arch, built["zipped_mb"], built["unzipped_mb"],
                         compiled["zipped_mb"], compiled["unzipped_mb"]])  # fmt: skip
        return table(["layer (MB)", "zipped", "unzipped", "zipped +pyc", "unzipped +pyc"], rows)
    if section == "builder":
        return table(
            ["builder, median us", "impl", "us", "x psycopg"],
            [[x["shape"], x["impl"], x["median_us"], x["ratio_to_psycopg"]] for x in r["results"]],
        )
    if section == "execution":
        return table(
            ["execution, median us", "impl", "us", "x psycopg"],
            [[x["case"], x["impl"], x["median_us"], x["ratio_to_psycopg"]] for x in r["results"]],
        )
    if section == "validation":
        import validation

        return validation.render(r)
    return json.dumps(r, indent=1)


# -- targets ----------------------------------------------------------------------------


def targets(s: dict[str, Any]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(target: str, met: bool, measured: str) -> None:
        out.append({"target": target, "met": bool(met), "measured": measured})

    if "round_trips" in s and "warm" in s["round_trips"]:
        r = s["round_trips"]
        worst = max(max(w["kit"]) for w in r["warm"])
        add("1 round trip per warm request (batch and idempotent create included)",
            worst == 1, f"max {worst} over {len(r['warm'])} requests x 10")  # fmt: skip
        writes = [max(c) for k, c in r["idle_gap"].items() if isinstance(c, list) and k != "get"]
        add("2 round trips for the first write after an idle gap", max(writes) == 2,
            f"writes {max(writes)}, read {max(r['idle_gap']['get'])}")  # fmt: skip
        by_name = {c["connect"]: max(c["flights"]) for c in r["connect"]}
        if "TLS, sslnegotiation=direct" in by_name:
            direct = by_name["TLS, sslnegotiation=direct"]
            add("cold connect: the fewest round trips TLS 1.3 + SCRAM allow (4)",
                direct == 4 and direct < by_name["TLS, sslnegotiation=postgres"],
                f"direct {direct}, postgres negotiation "
                f"{by_name['TLS, sslnegotiation=postgres']}")  # fmt: skip
    if "latency" in s and "warm" in s["latency"]:
        worst = max(w["ratio_nominal"] for w in s["latency"]["warm"])
        add("warm p50 at 10 ms RTT <= 1.15x (one round trip + local time)", worst <= 1.15,
            f"worst {worst}x")  # fmt: skip
    if "overhead" in s and "rows" in s["overhead"]:
        worst = s["overhead"]["worst_ratio"]
        add("handler p50 <= 1.5x psycopg on the same SQL and connection", worst <= 1.5,
            f"worst {worst}x (neonkit alone: "
            f"{max(r['neonkit']['ratio'] for r in s['overhead']['rows'])}x)")  # fmt: skip
    if "cold_start" in s and "conditions" in s["cold_start"]:
        for condition, c in s["cold_start"]["conditions"].items():
            ratios = {
                k: v["ratio"] for k, v in c["import"].items()
                if k != "psycopg" and not k.startswith("part:")
            }  # fmt: skip
            worst = max(ratios.values())
            kit = c["import"].get("part: neonkit + todos", {}).get("ratio")
            add(f"handler import <= 1.3x `import psycopg` ({condition})", worst <= 1.3,
                ", ".join(f"{k} {v}x" for k, v in ratios.items())
                + f"; the kit's layer alone (neonkit + todos) {kit}x")  # fmt: skip
    if "validation" in s and "handler_import" in s["validation"]:
        h = s["validation"]["handler_import"]
        add("API handler import <= 1.3x `import psycopg` (validation.py, this checkout)",
            h["ratio"] <= h["target_ratio"], f"{h['ratio']}x")  # fmt: skip
    for name in ("builder", "execution"):
        if name in s and "target_met" in s[name]:
            what = ("builder: cached select and 1-row insert <= 10 us" if name == "builder"
                    else "execution: kit builder select <= 1.1x psycopg")  # fmt: skip
            add(what, s[name]["target_met"], _micro_measured(name, s[name]))
    return out


def _micro_measured(name: str, r: dict[str, Any]) -> str:
    if name == "builder":
        kit = [x for x in r["results"] if x["impl"] == "kit"]
        return ", ".join(f"{x['shape']} {x['median_us']} us" for x in kit[:1] + kit[3:4])
    kit = next(x for x in r["results"] if x["impl"] == "kit builder")
    return f"{kit['case']} {kit['ratio_to_psycopg']}x"


if __name__ == "__main__":
    raise SystemExit(main())
