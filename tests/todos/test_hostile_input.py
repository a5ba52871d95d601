"""Hostile input over real HTTP: the sample's corpus (tests/todos/hostile.py) against the
local API. (What any API on the kit answers is tested on the kit's fixture API, in
tests/kit/integration/test_hostile_input.py.)

`python -m localdev serve` runs the template's HttpApi routes (as `sam local start-api`
does) on this run's migrated test database, directly or through PgBouncer. Each case is one
raw HTTP/1.1 request; it must get its documented 4xx (or its 2xx), as JSON with `error` and
`message` (API Gateway's own answers carry `message`), with no stack trace, SQL, driver name
or file path, within seconds (an injected `pg_sleep` would show); and the table must change
exactly as the case says: valid requests stored verbatim, SQL-looking text included, and
nothing else touched. A last test checks the whole table against every case that ran.
Long paths and query strings stay within HTTP API's quota for the request line and headers
together (10,240 bytes), so that what is tested is the function, not the gateway's limit.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.todos.hostile import CORPUS, LEAKS, SEEDS, Todo, TodoCase

ROOT = Path(__file__).resolve().parents[2]
SLOW = 5.0  # seconds: no case may take this long (the injected pg_sleep asks for 10)

Row = tuple[str, bool, str | None, tuple[str, ...], str | None]  # title, done, due, tags, key


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Api:
    """The served API, the table behind it, and what the cases that ran should have left."""

    process: subprocess.Popen[bytes]
    port: int
    log_file: Path
    direct: psycopg.Connection[tuple[Any, ...]]
    created: list[Todo] = field(default_factory=list)
    updated: dict[int, dict[str, Any]] = field(default_factory=dict)

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")

    def send(self, case: TodoCase) -> Reply:
        """One request on a connection of its own; the answer is read even if the server
        stopped reading the body early."""
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", self.port), timeout=30) as sock:
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                sock.sendall(case.request(f"127.0.0.1:{self.port}"))
            response = http.client.HTTPResponse(sock, method=case.method)
            response.begin()
            body = response.read()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return Reply(response.status, headers, body, time.monotonic() - started)

    def rows(self) -> dict[int, Row]:
        """Every row, with the client's Idempotency-Key as it sent it (stored as 'http:<key>';
        a key stored otherwise shows as '!<key>', which no case expects)."""
        found = self.direct.execute(
            "SELECT id, title, done, due::text, tags, CASE WHEN idempotency_key LIKE 'http:%'"
            " THEN substr(idempotency_key, 6) ELSE '!' || idempotency_key END FROM todos"
            " ORDER BY id"
        )
        return {int(r[0]): (r[1], r[2], r[3], tuple(r[4]), r[5]) for r in found.fetchall()}

    def ids_tagged(self, tag: str) -> list[int]:
        found = self.direct.execute(
            "SELECT id FROM todos WHERE tags @> ARRAY[%s]::text[] ORDER BY id LIMIT 20", [tag]
        )
        return [int(r[0]) for r in found.fetchall()]


def as_row(todo: Todo) -> Row:
    return (todo.title, todo.done, todo.due, todo.tags, todo.key)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def api(
    app_url: str,
    database_kind: str,
    direct_url: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Api]:
    """`localdev serve` on the test database as the functions' role (through PgBouncer for the
    pooled run), the table emptied and seeded first with the anonymous caller's rows (no
    issuer is configured: every request is anonymous)."""
    folder = tmp_path_factory.mktemp("hostile")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "NEONKIT_"))}
    env["DATABASE_URL"] = app_url
    options: list[str] = []
    if database_kind == "pgbouncer":  # a local URL is not recognised as a pooler by its host
        env_file = folder / "env.json"
        env_file.write_text(json.dumps({"Parameters": {"NEONKIT_POOLED": "on"}}))
        options = ["--env-vars", str(env_file)]

    direct = psycopg.connect(direct_url, autocommit=True)
    direct.execute("TRUNCATE todos RESTART IDENTITY")
    for seed in SEEDS:
        direct.execute(
            "INSERT INTO todos (owner, title, tags) VALUES ('anonymous', %s, %s)",
            [seed.title, list(seed.tags)],
        )

    port = free_port()
    log_file = folder / "serve.log"
    with log_file.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "localdev", "serve", "--port", str(port), *options],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    served = Api(process, port, log_file, direct)
    deadline = time.monotonic() + 30
    while "Running on" not in served.log():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"localdev serve did not start:\n{served.log()}")
        time.sleep(0.05)
    try:
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
        direct.close()


def test_the_corpus_never_contains_what_it_looks_for() -> None:
    """The leak markers cannot come from the client's own text echoed back."""
    for case in CORPUS:
        for text in case.payloads():
            assert not [leak for leak in LEAKS if leak in text], case.name
    names = [case.name for case in CORPUS]
    assert len(names) == len(set(names))


@pytest.mark.parametrize("case", CORPUS, ids=[case.name for case in CORPUS])
def test_a_hostile_request_gets_its_documented_answer(case: TodoCase, api: Api) -> None:
    before = api.rows()
    reply = api.send(case)
    after = api.rows()

    # The status, as documented.
    shown = reply.body[:300].decode("utf-8", "replace")
    assert reply.status == case.status, f"{case.name}: got {reply.status}: {shown}"
    assert reply.seconds < SLOW, f"{case.name} took {reply.seconds:.1f}s"

    # A JSON answer that shows nothing of the server's insides.
    assert reply.headers.get("content-type", "").startswith("application/json"), reply.headers
    body = reply.json()
    text = reply.body.decode("utf-8", "replace")
    leaks = [leak for leak in (*LEAKS, str(ROOT)) if leak in text]
    assert not leaks, f"{case.name}: the answer shows {leaks}: {shown}"
    if case.answered_by == "gateway":
        assert body == {"message": "Not Found"}, body
    elif reply.status >= 400:
        assert isinstance(body.get("message"), str), body
        if case.answered_by == "function" or "error" in body:
            assert isinstance(body.get("error"), str), body
            assert body.get("request_id"), body
    if case.creates and case.method == "POST" and case.target == "/todos":
        (todo,) = case.creates
        assert (body["title"], body["tags"], body["due"]) == (todo.title, list(todo.tags), todo.due)
    if case.lists_tag is not None:
        assert [item["id"] for item in body["items"]] == api.ids_tagged(case.lists_tag)

    # The table changed exactly as the case says: its rows added verbatim, nothing else.
    assert set(before) <= set(after), f"{case.name} deleted rows"
    added = [after[i] for i in sorted(set(after) - set(before))]
    assert added == [as_row(todo) for todo in case.creates], case.name
    for todo_id, row in before.items():
        changes = case.updates.get(todo_id, {})
        expected = as_row(_changed(row, changes)) if changes else row
        assert after[todo_id] == expected, f"{case.name} changed row {todo_id}"
    api.created += case.creates
    for todo_id, changes in case.updates.items():
        api.updated.setdefault(todo_id, {}).update(changes)


def test_afterwards_the_table_holds_exactly_the_intended_rows(api: Api) -> None:
    """After the corpus (or the part of it that ran): the seeds, as the valid PATCHes left
    them, then every valid create, in order, verbatim; the table itself intact."""
    expected = [
        as_row(_changed(as_row(seed), api.updated.get(i, {}))) for i, seed in enumerate(SEEDS, 1)
    ]
    expected += [as_row(todo) for todo in api.created]
    assert list(api.rows().values()) == expected
    columns = api.direct.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_name = 'todos'"
    ).fetchall()
    assert {"id", "title", "done", "due", "tags", "idempotency_key"} <= {c[0] for c in columns}
    assert " failed: " not in api.log()  # no function raised (API Gateway's bare 500)


def _changed(row: Row, changes: dict[str, Any] | Any) -> Todo:
    title, done, due, tags, key = row
    todo = Todo(title, tags, due, done, key)
    return Todo(
        changes.get("title", todo.title),
        tuple(changes.get("tags", todo.tags)),
        changes.get("due", todo.due),
        changes.get("done", todo.done),
        todo.key,
    )
