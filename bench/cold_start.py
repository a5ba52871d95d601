"""Cold start: a fresh process's import time, first request and peak memory.

Each sample is a new Python process (cold_start_child.py). The layer is laid out as
`sam build` lays it out (layer/Makefile: the requirements' packages plus layer/python, no
`__pycache__`), in a temporary folder, and the function's code beside it, in two forms:
  no bytecode   as the Makefile builds it today (--no-compile, __pycache__ removed):
                every cold start compiles the layer's modules from source
  bytecode      the same files compiled (`compileall --invalidation-mode unchecked-hash`)
The standard library keeps its bytecode in both, as in Lambda's runtime.
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
from pathlib import Path
from typing import Any

from harness import FUNCTION, LAYER, ROOT, Server, event

CHILD = Path(__file__).with_name("cold_start_child.py")
TARGET = 1.3  # handler import / `import psycopg`
# What a handler's import is made of (each alone in a fresh process, psycopg included where
# it is a dependency): the kit's share, and Powertools' share (what the todos API imports).
PARTS = {
    "part: neonkit": "neonkit",
    "part: neonkit + todos": "neonkit,todos.repository",
    "part: Powertools alone": "aws_lambda_powertools.logging,aws_lambda_powertools.metrics,"
    "aws_lambda_powertools.event_handler",
}


def _requirement_class() -> Any:
    try:
        from packaging.requirements import Requirement
    except ImportError:  # pip vendors it
        from pip._vendor.packaging.requirements import Requirement  # type: ignore[no-redef]
    return Requirement


def layer_distributions() -> list[metadata.Distribution]:
    """layer/requirements.txt and everything it pulls in, as installed here."""
    requirement = _requirement_class()
    lines = (ROOT / "layer" / "requirements.txt").read_text().splitlines()
    todo = [requirement(line.split("#")[0].strip()) for line in lines if line.split("#")[0].strip()]
    seen: dict[str, metadata.Distribution] = {}
    while todo:
        req = todo.pop()
        name = re.sub(r"[-_.]+", "-", req.name).lower()
        if name in seen:
            continue
        dist = metadata.distribution(req.name)
        seen[name] = dist
        for text in dist.requires or []:
            sub = requirement(text)
            extras = list(req.extras) or [""]
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in extras):
                todo.append(sub)
    return list(seen.values())


def lay_out(dest: Path, *, bytecode: bool) -> dict[str, Path]:
    """The layer (`dest/layer/python`) and each function's code (`dest/<CodeUri>`)."""
    python = dest / "layer" / "python"
    for dist in layer_distributions():
        for file in dist.files or []:
            parts = file.parts
            if parts[0] == ".." or parts[0].endswith(".dist-info") or "__pycache__" in parts:
                continue
            target = python / file
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(Path(str(file.locate())), target)
    ignore = shutil.ignore_patterns("__pycache__")
    shutil.copytree(LAYER, python, dirs_exist_ok=True, ignore=ignore)
    functions = {}
    for name, code_uri in function_code().items():
        functions[name] = dest / code_uri
        shutil.copytree(ROOT / code_uri, functions[name], ignore=ignore)
    if bytecode:
        subprocess.run(
            [sys.executable, "-m", "compileall", "-q", "-j", "0",
             "--invalidation-mode", "unchecked-hash", str(dest)],
            check=True,
        )  # fmt: skip
    return {"layer": python, **functions}


def function_code() -> dict[str, str]:
    """Logical id -> CodeUri of every Python function in template.yaml."""
    from localdev.testing import template_document as template

    resources = template()["Resources"]
    return {
        name: str(res["Properties"]["CodeUri"]).rstrip("/")
        for name, res in resources.items()
        if res.get("Type") == "AWS::Serverless::Function"
        and str(res["Properties"].get("Handler", "")).startswith("app.")
    }


def run_child(spec: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        subprocess.run(
            [sys.executable, "-B", str(CHILD), json.dumps(spec), out.name],
            check=True, env=env, cwd=tempfile.gettempdir(), capture_output=True,
        )  # fmt: skip
        return json.loads(Path(out.name).read_text())  # type: ignore[no-any-return]


def child_env(database_url: str, function: str) -> dict[str, str]:
    from localdev.testing import global_environment

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "DATABASE_"))}
    env.update(global_environment())
    env.update(AWS_LAMBDA_FUNCTION_NAME=function, DATABASE_URL=database_url)
    return env


def measure(server: Server, seed_id: int, imports: int = 9, requests: int = 5) -> dict[str, Any]:
    from todos.repository import COLUMNS, todos

    get_sql = todos.select(*COLUMNS).where("id", seed_id).compile()
    url = server.neon_url()
    results: dict[str, Any] = {"target_ratio": TARGET, "conditions": {}}
    with tempfile.TemporaryDirectory(prefix="neonkit-cold-") as tmp:
        for condition, bytecode in (("no bytecode", False), ("bytecode", True)):
            paths = lay_out(Path(tmp) / condition.replace(" ", "-"), bytecode=bytecode)
            layer = str(paths["layer"])
            env = child_env(url, FUNCTION)
            modules: dict[str, dict[str, Any]] = {"psycopg": {"path": [layer], "module": "psycopg"}}
            for name, module in PARTS.items():
                modules[name] = {"path": [layer], "module": module}
            for name in function_code():
                modules[name] = {"path": [str(paths[name]), layer], "module": "app"}
            for spec in modules.values():  # warm the page cache; not counted
                run_child(spec, env)
            samples: dict[str, list[float]] = {name: [] for name in modules}
            for i in range(imports):
                names = list(modules)
                for name in names[i % len(names) :] + names[: i % len(names)]:
                    samples[name].append(run_child(modules[name], env)["import_s"])
            base = statistics.median(samples["psycopg"])
            imports_row = {
                name: {
                    "p50_ms": round(statistics.median(v) * 1000, 1),
                    "min_ms": round(min(v) * 1000, 1),
                    "ratio": round(statistics.median(v) / base, 2),
                    "samples": len(v),
                }
                for name, v in samples.items()
            }
            first = _first_requests(paths, layer, env, url, get_sql, seed_id, requests)
            results["conditions"][condition] = {"import": imports_row, "first_request": first}
    return results


def _first_requests(
    paths: dict[str, Path],
    layer: str,
    env: dict[str, str],
    url: str,
    get_sql: Any,
    seed_id: int,
    n: int,
) -> dict[str, Any]:
    """Import + the first request (connect included), the second request, peak RSS."""
    request = {
        "handler": "lambda_handler",
        "function": FUNCTION,
        "event": event("todos_get_found", todo_id=seed_id),
    }
    specs = {
        "psycopg: connect + the same SELECT": {
            "path": [layer],
            "module": "psycopg",
            "request": {"url": url, "sql": get_sql.text, "params": list(get_sql.params)},
        },
        f"{FUNCTION}: GET /todos/{{id}}": {
            "path": [str(paths[FUNCTION]), layer],
            "module": "app",
            "request": request,
        },
        f"{FUNCTION} with SnapStart: after restore": {
            "path": [str(paths[FUNCTION]), layer, str(ROOT / "tests" / "support")],
            "module": "app",
            "request": request,
            "snapstart": True,
        },
    }
    rows: dict[str, Any] = {}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in specs}
    for _ in range(n):
        for name, spec in specs.items():
            result = run_child(spec, env)
            if result.get("status") != 200:
                raise SystemExit(f"cold start {name}: the request failed: {result}")
            runs[name].append(result)
    for name, results in runs.items():

        def med(key: str, results: list[dict[str, Any]] = results) -> float:
            return round(statistics.median(r[key] for r in results) * 1000, 1)

        row: dict[str, Any] = {
            "import_ms": med("import_s"),
            "first_request_ms": med("first_request_s"),
            "second_request_ms": med("second_request_s"),
            "peak_rss_mb": round(statistics.median(r["peak_rss_kb"] for r in results) / 1024, 1),
            "samples": len(results),
        }
        if "after_restore_s" in results[0]:
            row["before_snapshot_ms"] = med("before_snapshot_s")
            row["after_restore_ms"] = med("after_restore_s")
        row["cold_ms"] = round(
            row["first_request_ms"] + (0 if "after_restore_ms" in row else row["import_ms"]), 1
        )
        rows[name] = row
    return rows
