"""Check what `sam build` put in the layer: psycopg >= 3.3 built for CPython 3.13 on aarch64."""

from __future__ import annotations

import sys
from pathlib import Path

LAYER = Path(".aws-sam/build/NeonKitLayer/python")


def main() -> int:
    problems: list[str] = []
    wheels = sorted(LAYER.glob("psycopg_binary-*.dist-info"))
    if not wheels:
        problems.append(f"no psycopg_binary in {LAYER}")
    for info in wheels:
        version = tuple(int(p) for p in info.name.split("-")[1].split(".")[:2])
        tags = [
            line.split(": ", 1)[1]
            for line in (info / "WHEEL").read_text().splitlines()
            if line.startswith("Tag: ")
        ]
        if version < (3, 3):
            problems.append(f"psycopg_binary {version} is older than 3.3")
        if not any(t.startswith("cp313-cp313-") and t.endswith("_aarch64") for t in tags):
            problems.append(f"psycopg_binary tags {tags} are not cp313 aarch64")
    extensions = list(LAYER.glob("psycopg_binary/_psycopg.cpython-313-aarch64-linux-gnu.so"))
    if not extensions:
        problems.append("psycopg_binary's C extension for cpython-313-aarch64 is missing")
    for package in ("neonkit", "todos", "aws_lambda_powertools", "dotenv", "psycopg"):
        if not (LAYER / package).is_dir():
            problems.append(f"{package} is missing from the layer")
    foreign = [p for p in LAYER.rglob("*.pyc") if ".cpython-313." not in p.name]
    if foreign:
        problems.append(f"bytecode for another Python than 3.13: {foreign[0]}")
    if not list((LAYER / "neonkit").glob("__pycache__/*.cpython-313.pyc")):
        print("layer check: note: no bytecode (python3.13 was not on PATH during the build)")
    for problem in problems:
        print(f"layer check: {problem}", file=sys.stderr)
    if not problems:
        print(f"layer check: ok ({', '.join(w.name for w in wheels)})")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
