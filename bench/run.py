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
from harness import FIXTURE, RESULTS, ROOT, database_server, python_tag

SECTIONS = (
    "round_trips",
    "latency",
    "request",
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
        admin.execute("INSERT INTO notes (title) SELECT 'seed ' || g FROM generate_series(1, 60) g")
        results = report["sections"]
        for section in chosen:
            t0 = time.monotonic()
            print(f"\n== {section} ", end="", flush=True)
            results[section] = run_section(section, server, admin)
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


def run_section(section: str, server: Any, admin: psycopg.Connection[Any]) -> dict[str, Any]:
    if section == "round_trips":
        import round_trips

        return round_trips.count(server, admin, FIXTURE)
    if section == "latency":
        import round_trips

        return round_trips.latency(server, admin, FIXTURE)
    if section == "request":
        import request

        return request.measure(server, admin)
    if section == "overhead":
        import overhead

        return overhead.measure(server, admin, FIXTURE)
    if section == "cold_start":
        import cold_start

        return cold_start.measure(server, admin)
    if section == "tips":
        import tips

        return tips.measure(server, admin)
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
    if section == "request":
        return render_request(r)
    if section == "overhead":
        return f"  {r['app']}, every route\n" + table(
            ["request, p50 ms (x psycopg)", "psycopg", "neonkit", "resolver", "handler"],
            [[row["operation"]] + [f"{row[k]['p50_ms']} ({row[k]['ratio']}x)"
              for k in ("psycopg", "neonkit", "resolver", "handler")] for row in r["rows"]],
        )  # fmt: skip
    if section == "cold_start":
        parts = [table(
            ["import, layer with bytecode (ms)", "p50", "min", "x psycopg"],
            [[name, v["p50_ms"], v["min_ms"], v["ratio"]] for name, v in r["import"].items()],
        )]  # fmt: skip
        parts.append(table(
            ["fresh process, loopback (ms)", "import", "1st request", "2nd", "cold",
             "peak RSS MB"],
            [[name, v["import_ms"], v["first_request_ms"], v["second_request_ms"],
              v["cold_ms"], v["peak_rss_mb"]] for name, v in r["first_request"].items()],
        ))  # fmt: skip
        far = r["at_a_distance"]
        parts.append(table(
            [f"new sandbox, {far['round_trip_ms']} ms per round trip (ms)", "import",
             "1st request", "in round trips", "cold", "target", ""],
            [[name, v["import_ms"], v["first_request_ms"], v["round_trips_after_import"],
              v["cold_ms"], v["target_ms"], "met" if v["met"] else "missed"]
             for name, v in far["rows"].items()],
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


def render_request(r: dict[str, Any]) -> str:
    apps = r["apps"]
    functions = [a["function"] for a in apps]
    names = list(apps[0]["layers_cpu_us"])
    for app in apps[1:]:
        names += [n for n in app["layers_cpu_us"] if n not in names]
    rows = [[n] + [_share(app, n) for app in apps] for n in names]
    rows.append(["the handler, whole"] + [f"{a['cpu_us']['handler']:.1f}" for a in apps])
    parts = [table(["warm GET by id: CPU us, p50 (share)", *functions], rows)]
    knex = r["knex"]
    knex_name = (f"Knex {knex['knex']} + pg {knex['pg']}, Node {knex['node']}: "
                 "client.raw('... LIMIT ?')" if "missing" not in knex else "Knex")  # fmt: skip
    compare = []
    for key, name in (("psycopg", "raw psycopg: the same SELECT, autocommit, dict rows"),
                      ("knex", knex_name), ("handler", "the handler")):  # fmt: skip
        cells = []
        for app in apps:
            c = app["compared"].get(key)
            cells.append(f"{c['wall_us']:.1f} / {c['cpu_us']:.1f}" if c else "-")
        compare.append([name, *cells])
    ratios = [f"{a['ratio_to_psycopg']}x / {a['cpu_ratio_to_psycopg']}x" for a in apps]
    compare.append(["the handler / raw psycopg", *ratios])
    warn = [a["at_warning"] for a in apps]
    compare.append(["the handler at LogLevel WARNING (no request line): CPU saved"]
                   + [f"{w['cpu_saved']:.0%}" for w in warn])  # fmt: skip
    compare.append(["  and its CPU / raw psycopg's"]
                   + [f"{w['cpu_ratio_to_psycopg']}x" for w in warn])  # fmt: skip
    if "missing" in knex:
        parts.append(table(["p50 us: wall / CPU", *functions], compare))
        parts.append(f"  {knex['missing']}")
    else:
        compare.append(["the handler / Knex (wall)"] + [f"{a['ratio_to_knex']}x" for a in apps])
        parts.append(table(["p50 us: wall / CPU", *functions], compare))
    return "\n\n".join(parts)


def _share(app: dict[str, Any], name: str) -> str:
    value = app["layers_cpu_us"].get(name)
    if value is None:
        return "-"
    return f"{value:.1f} ({value / app['cpu_us']['handler']:.0%})"


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
    if "request" in s and "apps" in s["request"]:
        for app in s["request"]["apps"]:
            handler, raw = app["compared"]["handler"], app["compared"]["psycopg"]
            add(f"{app['function']}: a warm GET <= {s['request']['target_ratio']}x raw psycopg "
                "(wall p50)", app["ratio_to_psycopg"] <= s["request"]["target_ratio"],
                f"{handler['wall_us']} us / {raw['wall_us']} us = {app['ratio_to_psycopg']}x "
                f"(CPU: {app['cpu_ratio_to_psycopg']}x)")  # fmt: skip
            if "knex" in app["compared"]:
                knex = app["compared"]["knex"]
                add(f"{app['function']}: a warm GET faster than the seed's Knex query (wall p50)",
                    handler["wall_us"] < knex["wall_us"],
                    f"{handler['wall_us']} us vs {knex['wall_us']} us")  # fmt: skip
    if "overhead" in s and "rows" in s["overhead"]:
        o = s["overhead"]
        add(f"every route of the fixture app: handler p50 <= {o['target_ratio']}x psycopg on "
            "the same SQL and connection", o["worst_ratio"] <= o["target_ratio"],
            f"worst {o['worst_ratio']}x (neonkit alone: "
            f"{max(r['neonkit']['ratio'] for r in o['rows'])}x)")  # fmt: skip
    if "cold_start" in s and "import" in s["cold_start"]:
        c = s["cold_start"]
        ratios = {
            k: v["ratio"] for k, v in c["import"].items()
            if k != "psycopg" and not k.startswith("part:")
        }  # fmt: skip
        for name, ratio in ratios.items():
            add(f"{name} import <= {c['target_ratio']}x `import psycopg` (layer with bytecode)",
                ratio <= c["target_ratio"], f"{ratio}x")  # fmt: skip
        for name, row in c["at_a_distance"]["rows"].items():
            if "with preconnect" in name:
                add(f"{name.split(',')[0]}: a new sandbox answers within (import + 1 round trip)"
                    f" x {c['cold_target']}", row["met"],
                    f"{row['cold_ms']} ms (target {row['target_ms']} ms; "
                    f"{row['round_trips_after_import']} round trips after the import)")  # fmt: skip
    for name in ("builder", "execution"):
        if name in s and "target_met" in s[name]:
            what = ("builder: cached select and 1-row insert <= 25 us" if name == "builder"
                    else "execution: kit builder select <= 1.1x psycopg")  # fmt: skip
            add(what, s[name]["target_met"], _micro_measured(name, s[name]))
    return out


def _micro_measured(name: str, r: dict[str, Any]) -> str:
    if name == "builder":
        kit = [x for x in r["results"] if x["impl"] == "kit"]
        return ", ".join(f"{x['shape']} {x['median_us']} us" for x in kit[:1] + kit[3:4])
    builder = next(x for x in r["results"] if x["impl"] == "kit builder")
    return f"{builder['case']} {builder['ratio_to_psycopg']}x"


if __name__ == "__main__":
    raise SystemExit(main())
