"""`python -m localdev serve` on a free port, for tests that talk real HTTP to an API."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[3]


@dataclass
class Served:
    process: subprocess.Popen[bytes]
    port: int
    log_file: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve(
    database_url: str | None,
    folder: Path,
    *,
    template: Path | None = None,
    pooled: bool = False,
    root: Path = ROOT,
) -> Iterator[Served]:
    """The template's HttpApi on `database_url` (None: the project's embedded PostgreSQL, its
    migrations applied, as `make dev` does); `pooled` tells the kit it is a pooler; `root`
    is the project's folder."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "NEONKIT_"))}
    if database_url is not None:
        env["DATABASE_URL"] = database_url
    options = ["-t", str(template)] if template is not None else []
    if pooled:  # a local URL is not recognised as a pooler by its host
        env_file = folder / "env.json"
        env_file.write_text(json.dumps({"Parameters": {"NEONKIT_POOLED": "on"}}))
        options += ["--env-vars", str(env_file)]
    port = free_port()
    log_file = folder / "serve.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "localdev", "serve", "--port", str(port), *options],
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    served = Served(process, port, log_file)
    deadline = time.monotonic() + 30
    while "Running on" not in served.log():  # the fact we wait on: the server says it listens
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"localdev serve did not start:\n{served.log()}")
        time.sleep(0.05)
    try:
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def http_json(base: str, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    """Send a JSON request to a served API: its status and JSON answer (None if empty)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")
