"""Every file in events/ invoked against the real template, as `sam local invoke -e` would.

A file's name promises its status: `*_missing` 404, `*_invalid` 422, `*_malformed` 400,
`*_too_large` 413, `*_created` 201, anything else 2xx. One warm sandbox per function runs
them all, in order, on a fresh migrated database: the events that create rows first (the
`*_found` events name rows 1 to 3), deletes last.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from localdev.environment import lambda_environment
from localdev.sandbox import Sandbox
from localdev.template import Template
from tests.support.servers import scratch_database

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
APP = ROOT / "functions" / "todos_api" / "app.py"
PROMISES = (
    ("_missing", 404),
    ("_invalid", 422),
    ("_malformed", 400),
    ("_too_large", 413),
    ("_created", 201),
)


def promised_status(name: str) -> int | None:
    """The status a file name promises; None for any 2xx."""
    return next((status for suffix, status in PROMISES if name.endswith(suffix)), None)


def in_running_order(files: list[Path]) -> list[Path]:
    def rank(path: Path) -> tuple[int, str]:
        name = path.stem
        return (0 if name.endswith("_created") else 2 if "_delete" in name else 1, name)

    return sorted(files, key=rank)


EVENT_FILES = in_running_order(list(EVENTS.glob("*.json")))
CASES = [pytest.param(path, id=path.stem) for path in EVENT_FILES] or [
    pytest.param(None, id="no-events", marks=pytest.mark.skip(reason="events/ has no files yet"))
]


@pytest.fixture(scope="module")
def kit_database(admin_url: str) -> Iterator[str]:
    """A fresh database of its own with the kit's migrations: row ids start at 1."""
    if not APP.is_file():
        pytest.skip("functions/todos_api/app.py is not written yet")
    from neonkit.migrations import migrate

    with scratch_database(admin_url) as url:
        migrate(url, ROOT / "migrations")
        yield url


class Sandboxes:
    """One warm sandbox per function of the kit's template, started on first use."""

    def __init__(self, database_url: str) -> None:
        self.template = Template.load(ROOT / "template.yaml")
        self.database_url = database_url
        self._sandboxes: dict[str, Sandbox] = {}

    def for_event(self, event: dict[str, Any]) -> Sandbox:
        function_id = self._function_for(event)
        if function_id not in self._sandboxes:
            function = self.template.function(function_id)
            overrides = {"DATABASE_URL": self.database_url}
            environment = lambda_environment(function, overrides, self.template.region)
            self._sandboxes[function_id] = Sandbox(function, environment)
        return self._sandboxes[function_id]

    def close(self) -> None:
        for sandbox in self._sandboxes.values():
            sandbox.close()

    def _function_for(self, event: dict[str, Any]) -> str:
        """The function whose route the event names; the only function, for other routes."""
        functions = self.template.functions()
        for function in functions:
            if any(route.key == event.get("routeKey") for route in function.routes):
                return function.logical_id
        if len(functions) == 1:
            return functions[0].logical_id
        raise AssertionError(f"no function serves {event.get('routeKey')!r}")


@pytest.fixture(scope="module")
def sandboxes(kit_database: str) -> Iterator[Sandboxes]:
    sandboxes = Sandboxes(kit_database)
    yield sandboxes
    sandboxes.close()


@pytest.mark.parametrize("path", CASES)
def test_event_gets_the_status_its_name_promises(path: Path, sandboxes: Sandboxes) -> None:
    event = json.loads(path.read_text())
    invocation = sandboxes.for_event(event).invoke(event)
    assert invocation.ok, invocation.payload
    response = invocation.result()
    status = response["statusCode"]
    promised = promised_status(path.stem)
    if promised is None:
        assert 200 <= status < 300, response
    else:
        assert status == promised, response
    if status >= 400:  # errors are JSON for the client, never a stack trace
        body = response.get("body") or "{}"
        assert "Traceback" not in body
        json.loads(body)


def test_cli_invoke_uses_database_url_from_the_environment(kit_database: str) -> None:
    event = EVENTS / "todos_list.json"
    if not event.is_file():
        pytest.skip("events/todos_list.json is not written yet")
    env = {**os.environ, "DATABASE_URL": kit_database}
    result = subprocess.run(
        [sys.executable, "-m", "localdev", "invoke", "TodosApiFunction", "-e", str(event)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["statusCode"] == 200
    assert "\tInit Duration: " in result.stderr
    assert "PostgreSQL" not in result.stderr  # no local database: the URL was given


def test_serve_runs_the_real_api(kit_database: str, tmp_path: Path) -> None:
    # GIVEN the kit's API served on a free port, on the test database
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "localdev", "serve", "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": kit_database},
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while "Running on" not in log.read_text():
            assert server.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        # WHEN a todo is created, then read back through its Location
        status, headers, body = http(base, "POST", "/todos", {"title": "Served locally"})
        assert status == 201, body
        status, _, fetched = http(base, "GET", headers["Location"])
        # THEN the API behaves as deployed
        assert (status, fetched["title"]) == (200, "Served locally")
        assert http(base, "GET", "/todos/abc")[0] == 422
        assert http(base, "GET", "/no/such/route")[0] == 404
    finally:
        server.terminate()
        assert server.wait(timeout=15) == 0


def http(base: str, method: str, path: str, body: Any = None) -> tuple[int, Any, Any]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read() or b"null")
