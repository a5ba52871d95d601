"""Validation libraries for a declared resource, side by side in one run.

    python bench/validation.py [--imports 9] [--requests 20000] [--output FILE]

For each candidate, on the same work (the body of POST /todos -> a validated row; a row as
the database returns it -> JSON text):
  import     ms of CPU in a fresh process, marginal: after `import psycopg`, Powertools'
             event handler, Logger and Metrics and `neonkit`, which the API handler imports
             anyway; what the candidate needs at INIT (imports, model classes, compiled
             schemas). CPU time, not wall time: on a shared machine a neighbour's load would
             swamp the difference (bench/cold_start.py measures wall time)
  first use  ms of the first request in that process (what is built lazily on first use)
  valid      us per request: parse + validate + the row, then the row to JSON (best of 5)
  invalid    us per request for a body with three bad fields, all of them reported
Candidates:
  msgspec          neonkit.resources: a typed decode in C; a second pass names every problem
  pydantic v2      Powertools' data validation (`enable_validation=True`): the resolver with
                   validation on, and pydantic models (the per-request figure is pydantic's
                   own, without Powertools' middleware: a lower bound)
  fastjsonschema   the same JSON Schema compiled to Python at INIT, json.loads, a row by hand
And the API handler's import against `import psycopg` (CPU time), each in a fresh process,
as a figure only: this checkout's packages are not the layer's (bench/cold_start.py measures
the layer as Lambda loads it, and holds the target).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BASE = (
    "import psycopg\n"
    "import aws_lambda_powertools.event_handler, aws_lambda_powertools.logging\n"
    "import aws_lambda_powertools.metrics\n"
    "import neonkit\n"
)
VALID = json.dumps({"title": "Buy milk", "due": "2026-12-24", "tags": ["home", "errands"]})
INVALID = json.dumps({"title": "   ", "due": "2026-13-45", "tags": ["ok", 5]})
ROW = (
    "import datetime as _dt\n"
    "_now = _dt.datetime(2026, 11, 30, 9, 30, tzinfo=_dt.timezone.utc)\n"
    "ROW = {'id': 17, 'title': 'Buy milk', 'done': False, 'due': _dt.date(2026, 12, 24),\n"
    "       'tags': ['home', 'errands'], 'created_at': _now, 'updated_at': _now,\n"
    "       'completed_at': None}\n"
)

CANDIDATES: dict[str, str] = {
    "msgspec (neonkit.resources)": """
from datetime import date, datetime
from neonkit import _json
from neonkit.resources import Resource, field

class Todo(Resource, table="todos"):
    id: int = field(read_only=True)
    title: str = field(max_length=500, blank=False)
    done: bool = field(default=False, create=False, filter=True)
    due: date | None = None
    tags: list[str] = field(default=[], max_items=20, max_length=50, unique=True, filter="tag")
    created_at: datetime = field(read_only=True, sort=True)
    updated_at: datetime = field(read_only=True)
    completed_at: datetime | None = field(read_only=True)

def parse(body):
    return Todo.New.parse(body)

def dump(row):
    return _json.dumps(Todo.to_json(row))  # what http.json_response does
""",
    "pydantic v2 (Powertools enable_validation)": """
from datetime import date, datetime
from typing import Annotated
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from pydantic import BaseModel, ConfigDict, Field

Text = Annotated[str, Field(min_length=1, max_length=50, pattern=r"^[^\\x00]*$")]

class NewTodo(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: Annotated[str, Field(min_length=1, max_length=500, pattern=r"^[^\\x00]*\\S[^\\x00]*$")]
    due: date | None = None
    tags: Annotated[list[Text], Field(max_length=20)] = []

class Todo(BaseModel):
    id: int
    title: str
    done: bool
    due: date | None
    tags: list[str]
    created_at: datetime
    updated_at: datetime
    completed_at: datetime | None

app = APIGatewayHttpResolver(enable_validation=True)

def parse(body):
    row = NewTodo.model_validate_json(body).model_dump()
    row["tags"] = list(dict.fromkeys(row["tags"]))
    return row

def dump(row):
    return Todo.model_validate(row).model_dump_json()
""",
    "fastjsonschema": r"""
import json
from datetime import date
import fastjsonschema

TEXT = {"type": "string", "minLength": 1, "maxLength": 50, "pattern": "^[^\\u0000]*$"}
validate = fastjsonschema.compile({
    "type": "object",
    "properties": {
        "title": {"type": "string", "minLength": 1, "maxLength": 500,
                  "pattern": "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"},
        "due": {"type": ["string", "null"], "format": "date"},
        "tags": {"type": "array", "items": TEXT, "maxItems": 20},
    },
    "required": ["title"],
    "additionalProperties": False,
})

def parse(body):
    value = json.loads(body)
    validate(value)  # raises at the first problem: a second pass would name the others
    due = value.get("due")
    return {"title": value["title"], "due": date.fromisoformat(due) if due else None,
            "tags": list(dict.fromkeys(value.get("tags", [])))}

def dump(row):
    out = dict(row)
    for name in ("due", "created_at", "updated_at", "completed_at"):
        if out[name] is not None:
            out[name] = out[name].isoformat()
    return json.dumps(out, separators=(",", ":"), ensure_ascii=False)
""",
}

CHILD = """
import json, sys, time
spec = json.loads(sys.argv[1])
sys.path[:0] = spec["path"]
exec(spec["base"])
started = time.process_time()
namespace = {}
exec(spec["setup"], namespace)
result = {"import_s": time.process_time() - started}
if spec["requests"]:
    exec(spec["row"], namespace)
    parse, dump, row = namespace["parse"], namespace["dump"], namespace["ROW"]
    valid, invalid = spec["valid"].encode(), spec["invalid"].encode()
    started = time.process_time()
    dump(row); parse(valid)
    result["first_use_s"] = time.process_time() - started
    def invalid_once():
        try:
            parse(invalid)
        except Exception as exc:
            return exc
        raise SystemExit("the invalid body was accepted")
    error = invalid_once()
    found = getattr(error, "details", None) or (error.errors() if hasattr(error, "errors") else [])
    result["problems"] = len(found) or 1
    for name, work in (("valid", lambda: (parse(valid), dump(row))), ("invalid", invalid_once)):
        samples = []
        for _ in range(5):
            n = spec["requests"] // 5
            started = time.process_time()
            for _ in range(n):
                work()
            samples.append((time.process_time() - started) / n)
        result[name + "_s"] = min(samples)
print(json.dumps(result))
"""


def child(setup: str, *, requests: int = 0, base: str = BASE) -> dict[str, Any]:
    spec = {
        "path": [str(ROOT / "layer" / "python"), str(ROOT / "functions" / "api")],
        "base": base,
        "setup": setup,
        "requests": requests,
        "row": ROW,
        "valid": VALID,
        "invalid": INVALID,
    }
    done = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(spec)],
        capture_output=True, text=True, check=False, cwd=ROOT,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"a candidate failed:\n{done.stderr[-2000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def measure(imports: int = 9, requests: int = 20_000) -> dict[str, Any]:
    for setup in CANDIDATES.values():
        child(setup)  # warm the page cache and the bytecode; not counted
    loads: dict[str, list[float]] = {name: [] for name in CANDIDATES}
    for _ in range(imports):  # the candidates take turns: a busy moment hits them all
        for name, setup in CANDIDATES.items():
            loads[name].append(child(setup)["import_s"])
    rows = []
    for name, setup in CANDIDATES.items():
        work = child(setup, requests=requests)
        rows.append({
            "candidate": name,
            "import_ms": round(statistics.median(loads[name]) * 1000, 1),
            "first_use_ms": round(work["first_use_s"] * 1000, 2),
            "valid_us": round(work["valid_s"] * 1e6, 1),
            "invalid_us": round(work["invalid_s"] * 1e6, 1),
            "problems_reported": work["problems"],
        })  # fmt: skip
    return {"candidates": rows, "handler_import": handler_import(imports)}


def handler_import(samples: int) -> dict[str, Any]:
    """`import app` (the API function) against `import psycopg`, alternating, fresh processes."""
    psycopg_s, handler_s = [], []
    child("import app", base="")  # warm
    for _ in range(samples):
        psycopg_s.append(child("import psycopg", base="")["import_s"])
        handler_s.append(child("import app", base="")["import_s"])
    base, handler = statistics.median(psycopg_s), statistics.median(handler_s)
    return {
        "psycopg_ms": round(base * 1000, 1),
        "handler_ms": round(handler * 1000, 1),
        "ratio": round(handler / base, 2),
    }


def render(result: dict[str, Any]) -> str:
    headers = ["candidate", "import ms", "first use ms", "valid us", "invalid us", "problems"]
    rows = [
        [r["candidate"], r["import_ms"], r["first_use_ms"], r["valid_us"], r["invalid_us"],
         f"{r['problems_reported']} of 3"]
        for r in result["candidates"]
    ]  # fmt: skip
    cells = [headers] + [[str(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    for n, row in enumerate(cells):
        pairs = enumerate(zip(row, widths, strict=True))
        lines.append("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in pairs))
        if n == 0:
            lines.append("  " + "  ".join("-" * w for w in widths))
    h = result["handler_import"]
    lines.append(
        f"\n  API handler import {h['handler_ms']} ms / import psycopg {h['psycopg_ms']} ms"
        f" = {h['ratio']}x (this checkout; cold_start measures the layer)"
    )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--imports", type=int, default=9, help="fresh processes per candidate")
    parser.add_argument("--requests", type=int, default=20_000, help="requests timed per case")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    started = time.monotonic()
    result = measure(args.imports, args.requests)
    result["command"] = "python bench/validation.py " + " ".join(sys.argv[1:])
    result["python"] = sys.version.split()[0]
    result["seconds"] = round(time.monotonic() - started, 1)
    print(render(result))
    if args.output:
        args.output.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
