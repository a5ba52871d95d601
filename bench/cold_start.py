"""Cold start: a new sandbox's imports, its first request, its memory, and a connect hidden
behind the imports (`db.preconnect()`).

Each sample is a new Python process (cold_start_child.py, run with -S: nothing of this
machine's site-packages), laid out as Lambda lays out a function:
  layer     what layer/Makefile builds: the requirements' packages, neonkit from kit/neonkit,
            layer/python; compiled to bytecode as the Makefile compiles it for the runtime
            (`compileall --invalidation-mode unchecked-hash`)
  runtime   boto3 and botocore, which Lambda's Python runtime provides (Powertools imports
            botocore when it is there), with bytecode as the runtime ships them
  function  the function's folder as `sam build` copies it: source only, so Lambda compiles
            app.py at every cold start (its folder is read-only)
The standard library has its bytecode, as in Lambda's runtime.

Three measurements, each against a baseline in the same run:
  imports         each function's import against `import psycopg`, processes taking turns
  first request   import, first request (TLS and SCRAM connect on loopback), second request,
                  peak RSS; the sample's API also after a SnapStart restore
  at a distance   the first request of a new sandbox at 10 ms per round trip (a proxy adds
                  5 ms each way), with and without `db.preconnect()` (the child says it runs in
                  Lambda's runtime, where preconnect's default turns it on), against the
                  target: import + one round trip + 15%
"""

from __future__ import annotations

import importlib.metadata as metadata
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

import psycopg
from harness import FIXTURE, LAYER, ROOT, SAMPLE, App, Server

from tests.kit.support.proxy import FaultProxy

CHILD = Path(__file__).with_name("cold_start_child.py")
NEONKIT = ROOT / "kit" / "neonkit" / "src" / "neonkit"
SNAPSHOT_STUB = ROOT / "tests" / "kit" / "support"  # Lambda's snapshot_restore_py, stubbed
TARGET = 1.3  # handler import / `import psycopg`
LATENCY = 0.005  # seconds each way
COLD_TARGET = 1.15  # first answer <= (import + one round trip) x 1.15
# What a handler's import is made of (each alone in a fresh process, psycopg included where
# it is a dependency): the kit's share, and Powertools' share (what the API handlers import).
PARTS = {
    "part: neonkit": "neonkit",
    "part: Powertools, as the APIs import it": "aws_lambda_powertools.logging,"
    "aws_lambda_powertools.metrics,aws_lambda_powertools.event_handler",
}


def _requirement_class() -> Any:
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pip vendors it: the same class, in another module
        from pip._vendor.packaging.requirements import Requirement  # type: ignore[assignment]
    return Requirement


def distributions(requirements: list[str], skip: Collection[str] = ()) -> list[Any]:
    """The installed distributions of `requirements` and everything they pull in."""
    requirement = _requirement_class()
    todo = [requirement(text) for text in requirements]
    seen: dict[str, metadata.Distribution] = {}
    while todo:
        req = todo.pop()
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        if name in seen or name in skip:
            continue
        dist = metadata.distribution(req.name)
        seen[name] = dist
        for text in dist.requires or []:
            sub = requirement(text)
            extras = list(req.extras) or [""]
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in extras):
                todo.append(sub)
    return list(seen.values())


def _copy_distributions(dists: list[Any], dest: Path) -> None:
    for dist in dists:
        for file in dist.files or []:
            parts = file.parts
            if (
                parts[0] == ".."
                or parts[0].endswith(".dist-info")
                or "__pycache__" in parts
                or file.suffix == ".pth"  # an editable install's pointer (neonkit, here)
            ):
                continue
            target = dest / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(str(file.locate())), target)


def lay_out(dest: Path) -> dict[str, Path]:
    """`dest/layer/python`, `dest/runtime` and each function's folder (`dest/<CodeUri>`)."""
    lines = (ROOT / "layer" / "requirements.txt").read_text().splitlines()
    wanted = [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]
    python = dest / "layer" / "python"
    layer_dists = distributions(wanted)
    _copy_distributions(layer_dists, python)
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(NEONKIT, python / "neonkit", ignore=ignore, dirs_exist_ok=True)
    shutil.copytree(LAYER, python, dirs_exist_ok=True, ignore=ignore)
    runtime = dest / "runtime"
    in_layer = {re.sub(r"[-_.]+", "-", d.metadata["Name"]).lower() for d in layer_dists}
    _copy_distributions(distributions(["boto3"], skip=in_layer), runtime)
    for folder in (python, runtime):
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", "-j", "0",
             "--invalidation-mode", "unchecked-hash", str(folder)],
            check=True,
        )  # fmt: skip
    paths = {"layer": python, "runtime": runtime}
    for app in (FIXTURE, SAMPLE):
        if app.present():
            for name, code_uri in function_code(app).items():
                paths[name] = dest / app.resource / code_uri
                shutil.copytree(app.template.parent / code_uri, paths[name], ignore=ignore)
    return paths


def function_code(app: App) -> dict[str, str]:
    """Logical id -> CodeUri of every Python function in the app's template."""
    from localdev.testing import template_document

    resources = template_document(app.template)["Resources"]
    return {
        name: str(res["Properties"]["CodeUri"]).rstrip("/")
        for name, res in resources.items()
        if res.get("Type") == "AWS::Serverless::Function"
        and str(res["Properties"].get("Handler", "")).startswith("app.")
    }


def run_child(spec: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        done = subprocess.run(
            [sys.executable, "-S", "-B", str(CHILD), json.dumps(spec), out.name],
            env=env, cwd=tempfile.gettempdir(), capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"cold start child failed ({spec.get('module')}):\n{done.stderr}")
        return json.loads(Path(out.name).read_text())  # type: ignore[no-any-return]


def child_env(app: App, function: str, database_url: str, **extra: str) -> dict[str, str]:
    from localdev.testing import global_environment

    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "DATABASE_", "NEONKIT_", "POWERTOOLS_", "AWS_"))
    }
    env.update(global_environment(app.template))
    env.update(AWS_LAMBDA_FUNCTION_NAME=function, DATABASE_URL=database_url, **extra)
    return env


def _apps() -> list[tuple[App, str]]:
    """(app, its API function): the fixture's, then the sample's if it is there."""
    return [(app, app.function) for app in (FIXTURE, SAMPLE) if app.present()]


def measure(server: Server, admin: psycopg.Connection[Any], imports: int = 9) -> dict[str, Any]:
    results: dict[str, Any] = {"target_ratio": TARGET, "cold_target": COLD_TARGET}
    with tempfile.TemporaryDirectory(prefix="neonkit-cold-") as tmp:
        paths = lay_out(Path(tmp))
        results["import"] = _imports(paths, server, imports)
        results["first_request"] = _first_requests(paths, server, admin, 5)
        results["at_a_distance"] = _at_a_distance(paths, server, admin, 9)
    return results


def _paths(paths: dict[str, Path], *folders: str) -> list[str]:
    return [str(paths[f]) for f in folders]


def _imports(paths: dict[str, Path], server: Server, n: int) -> dict[str, Any]:
    """Each function's import, and its parts, against `import psycopg` (processes in turn)."""
    base = ["layer", "runtime"]
    specs: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}
    env = child_env(FIXTURE, FIXTURE.function, server.neon_url())
    specs["psycopg"] = ({"path": _paths(paths, *base), "module": "psycopg"}, env)
    for name, module in PARTS.items():
        specs[name] = ({"path": _paths(paths, *base), "module": module}, env)
    for app in (FIXTURE, SAMPLE):
        if not app.present():
            continue
        for function in function_code(app):
            spec = {"path": _paths(paths, function, *base), "module": "app"}
            specs[function] = (spec, child_env(app, function, server.neon_url()))
    for spec, spec_env in specs.values():  # warm the page cache; not counted
        run_child(spec, spec_env)
    samples: dict[str, list[float]] = {name: [] for name in specs}
    names = list(specs)
    for i in range(n):
        for name in names[i % len(names) :] + names[: i % len(names)]:
            spec, spec_env = specs[name]
            samples[name].append(run_child(spec, spec_env)["import_s"])
    base_p50 = statistics.median(samples["psycopg"])
    return {
        name: {
            "p50_ms": round(statistics.median(v) * 1000, 1),
            "min_ms": round(min(v) * 1000, 1),
            "ratio": round(statistics.median(v) / base_p50, 2),
            "samples": len(v),
        }
        for name, v in samples.items()
    }


def _get_request(app: App, function: str, row_id: int) -> dict[str, Any]:
    return {
        "handler": "lambda_handler",
        "function": function,
        "event": app.event(f"{app.resource}_get_found", row_id=row_id),
    }


def _plain_request(app: App, url: str, row_id: int) -> dict[str, Any]:
    """The same SELECT as the app's GET, for psycopg alone."""
    table = app.resource
    return {"url": url, "sql": f"SELECT * FROM {table} WHERE id = %s", "params": [row_id]}


def _first_requests(
    paths: dict[str, Path], server: Server, admin: psycopg.Connection[Any], n: int
) -> dict[str, Any]:
    """Import + the first request (connect included), the second request, peak RSS."""
    url = server.neon_url()
    base = ["layer", "runtime"]
    specs: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}
    row = FIXTURE.insert(admin)
    specs["psycopg: connect + a SELECT by id"] = (
        {"path": _paths(paths, *base), "module": "psycopg",
         "request": _plain_request(FIXTURE, url, row)},
        child_env(FIXTURE, FIXTURE.function, url),
    )  # fmt: skip
    for app, function in _apps():
        request = _get_request(app, function, app.insert(admin))
        env = child_env(app, function, url)
        specs[f"{function}: GET by id"] = (
            {"path": _paths(paths, function, *base), "module": "app", "request": request},
            env,
        )
        if app is SAMPLE:
            specs[f"{function} with SnapStart: after a restore"] = (
                {"path": [*_paths(paths, function, *base), str(SNAPSHOT_STUB)], "module": "app",
                 "request": request, "snapstart": True},
                env,
            )  # fmt: skip
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in specs}
    for _ in range(n):
        for name, (spec, env) in specs.items():
            result = run_child(spec, env)
            if result.get("status") != 200:
                raise SystemExit(f"cold start {name}: the request failed: {result}")
            runs[name].append(result)
    rows: dict[str, Any] = {}
    for name, results in runs.items():

        def med(key: str, results: list[dict[str, Any]] = results) -> float:
            seconds: float = statistics.median(r[key] for r in results)
            return round(seconds * 1000, 1)

        row_: dict[str, Any] = {
            "import_ms": med("import_s"),
            "first_request_ms": med("first_request_s"),
            "second_request_ms": med("second_request_s"),
            "peak_rss_mb": round(statistics.median(r["peak_rss_kb"] for r in results) / 1024, 1),
            "samples": len(results),
        }
        if "after_restore_s" in results[0]:
            row_["before_snapshot_ms"] = med("before_snapshot_s")
            row_["after_restore_ms"] = med("after_restore_s")
        row_["cold_ms"] = round(
            row_["first_request_ms"] + (0 if "after_restore_ms" in row_ else row_["import_ms"]), 1
        )
        rows[name] = row_
    return rows


def _at_a_distance(
    paths: dict[str, Path], server: Server, admin: psycopg.Connection[Any], n: int
) -> dict[str, Any]:
    """A new sandbox at 10 ms per round trip: import, first request, both; preconnect on
    and off, processes taking turns."""
    base = ["layer", "runtime"]
    rows: dict[str, Any] = {}
    with FaultProxy(server.host, server.port, name="cold") as proxy:
        proxy.latency(LATENCY)
        round_trip = _round_trip(server.neon_url(port=proxy.port))
        url = server.neon_url(port=proxy.port)
        specs: dict[str, tuple[dict[str, Any], dict[str, str]]] = {}
        for app, function in _apps():
            request = _get_request(app, function, app.insert(admin))
            spec = {"path": _paths(paths, function, *base), "module": "app", "request": request}
            for label, runtime in (("without preconnect", {}), ("with preconnect", _LAMBDA)):
                env = child_env(app, function, url, **runtime)
                specs[f"{function}, {label}"] = (spec, env)
        runs: dict[str, list[dict[str, Any]]] = {name: [] for name in specs}
        names = list(specs)
        for i in range(n):
            for name in names[i % len(names) :] + names[: i % len(names)]:
                spec, env = specs[name]
                result = run_child({**spec, "second": False}, env)
                if result.get("status") != 200:
                    raise SystemExit(f"cold start {name}: the request failed: {result}")
                runs[name].append(result)
                _settle(proxy)
        proxy.latency(0)
    for name, results in runs.items():
        importing = statistics.median(r["import_s"] for r in results)
        first = statistics.median(r["first_request_s"] for r in results)
        cold = statistics.median(r["import_s"] + r["first_request_s"] for r in results)
        budget = (importing + round_trip) * COLD_TARGET
        rows[name] = {
            "import_ms": round(importing * 1000, 1),
            "first_request_ms": round(first * 1000, 1),
            "cold_ms": round(cold * 1000, 1),
            "round_trips_after_import": round(first / round_trip, 1),
            "target_ms": round(budget * 1000, 1),
            "met": cold <= budget,
            "samples": len(results),
        }
    return {"round_trip_ms": round(round_trip * 1000, 2), "rows": rows}


# What tells neonkit it runs inside Lambda's runtime (preconnect's default: on there).
_LAMBDA = {"AWS_LAMBDA_RUNTIME_API": "127.0.0.1:9001"}


def _round_trip(url: str) -> float:
    """An empty query's p50 through the proxy: one round trip at this distance."""
    with psycopg.connect(url, autocommit=True) as conn:
        samples = []
        for _ in range(15):
            start = time.perf_counter()
            conn.execute("")
            samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _settle(proxy: FaultProxy) -> None:
    """Wait until the child's connection is gone from the proxy (its process has exited)."""
    deadline = time.monotonic() + 2
    while proxy.live and time.monotonic() < deadline:
        time.sleep(0.001)
