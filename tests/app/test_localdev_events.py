"""Every file in events/ invoked against the real template, as `sam local invoke -e` would.

An HTTP API event goes to the function routing its routeKey, and its file name promises the
status: `*_missing` 404, `*_invalid` 422, `*_malformed` 400, `*_too_large` 413, `*_created`
201, anything else 2xx. Other events go to the function whose folder (CodeUri) begins their
file name, and must not fail (`*_partial_failure` SQS batches report failed items).
One warm sandbox per function runs them all, in order, on a fresh migrated database: the
events that create rows first (the `*_found` events name rows 1 to 3), deletes last.
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
from localdev.testing import (
    Sandbox,
    Template,
    function_for_event,
    in_running_order,
    is_http_event,
    lambda_environment,
    scratch_database,
)

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "events"
APP = ROOT / "functions" / "api" / "app.py"
PROMISES = (
    ("_missing", 404),
    ("_invalid", 422),
    ("_malformed", 400),
    ("_too_large", 413),
    ("_created", 201),
)


# Events other than HTTP API ones are named for their function's folder (CodeUri):
# `todos_import_batch.json` goes to the function in functions/todos_import/.


def promised_status(name: str) -> int | None:
    """The status a file name promises; None for any 2xx."""
    return next((status for suffix, status in PROMISES if name.endswith(suffix)), None)


EVENT_FILES = in_running_order(list(EVENTS.glob("*.json")))
# A resource's list and create events, whichever resources the app has
LIST_EVENTS = sorted(EVENTS.glob("*_list.json"))
CREATE_EVENTS = sorted(EVENTS.glob("*_create_created.json"))
CASES = [pytest.param(path, id=path.stem) for path in EVENT_FILES] or [
    pytest.param(None, id="no-events", marks=pytest.mark.skip(reason="events/ has no files yet"))
]


@pytest.fixture(scope="module")
def kit_database(admin_url: str) -> Iterator[str]:
    """A fresh database of its own with the kit's migrations: row ids start at 1."""
    if not APP.is_file():
        pytest.skip("functions/api/app.py is not written yet")
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

    def for_event(self, name: str, event: Any) -> Sandbox:
        function_id = self._function_for(name, event)
        if function_id not in self._sandboxes:
            function = self.template.function(function_id)
            overrides = {"DATABASE_URL": self.database_url}
            environment = lambda_environment(function, overrides, self.template.region)
            self._sandboxes[function_id] = Sandbox(function, environment)
        return self._sandboxes[function_id]

    def close(self) -> None:
        for sandbox in self._sandboxes.values():
            sandbox.close()

    def _function_for(self, name: str, event: Any) -> str:
        # as `localdev invoke` picks it: the function routing it, or named by its folder
        return function_for_event(self.template.functions(), name, event).logical_id


@pytest.fixture(scope="module")
def sandboxes(kit_database: str) -> Iterator[Sandboxes]:
    sandboxes = Sandboxes(kit_database)
    yield sandboxes
    sandboxes.close()


@pytest.mark.parametrize("path", CASES)
def test_event_gets_what_its_name_promises(path: Path, sandboxes: Sandboxes) -> None:
    event = json.loads(path.read_text())
    invocation = sandboxes.for_event(path.stem, event).invoke(event)
    assert invocation.ok, invocation.payload
    result = invocation.result()
    if not is_http_event(event):
        check_other_result(path.stem, event, result)
        return
    status = result["statusCode"]
    promised = promised_status(path.stem)
    if promised is None:
        assert 200 <= status < 300, result
    else:
        assert status == promised, result
    if status >= 400:  # errors are JSON for the client, never a stack trace
        body = result.get("body") or "{}"
        assert "Traceback" not in body
        json.loads(body)


def check_other_result(name: str, event: Any, result: Any) -> None:
    """What the event's kind promises: an SQS batch reports exactly its failed items, a
    CloudFormation custom resource succeeds; every function answers a JSON object."""
    assert isinstance(result, dict), result
    records = event.get("Records") if isinstance(event, dict) else None
    if records and records[0].get("eventSource") == "aws:sqs":
        assert bool(result["batchItemFailures"]) == name.endswith("_partial_failure"), result
    elif isinstance(event, dict) and "ResponseURL" in event:  # a custom resource's request
        assert result["Status"] == "SUCCESS", result


def test_cli_invoke_uses_database_url_from_the_environment(kit_database: str) -> None:
    if not LIST_EVENTS:
        pytest.skip("events/ has no <resource>_list.json event yet")
    event = LIST_EVENTS[0]
    env = {**os.environ, "DATABASE_URL": kit_database}
    result = subprocess.run(
        [sys.executable, "-m", "localdev", "invoke", "ApiFunction", "-e", str(event)],
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
    if not CREATE_EVENTS:
        pytest.skip("events/ has no <resource>_create_created.json event yet")
    create = json.loads(CREATE_EVENTS[0].read_text())
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
        # WHEN a row is created as the create event does, then read back through its Location
        path, body = create["rawPath"], json.loads(create["body"])
        status, headers, created = http(base, "POST", path, body)
        assert status == 201, created
        status, _, fetched = http(base, "GET", headers["Location"])
        # THEN the API behaves as deployed
        assert (status, fetched) == (200, created)
        assert http(base, "GET", f"{path}/abc")[0] == 422
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
