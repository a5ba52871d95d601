"""The kit's fixture app (tests/kit/app) through faults: its real handler, its events, a stub
context.

Each test loads `NotesApiFunction` from the fixture app's template.yaml as Lambda would (a
fresh module is a fresh sandbox) and points the kit's `db` at a Database with tight budgets
(query_timeout 2 s, connect_timeout 2 s, connect_deadline 4 s) behind a FaultProxy in front
of PgBouncer in transaction mode (Neon's `-pooler`), or straight at PostgreSQL where the
fault is the server's. What a client sees is checked at the HTTP level: status,
`Retry-After`, JSON body; what the database holds is checked behind everyone's back, over a
direct connection to the fixture app's database (`direct` here).
Figures go through `report()` (printed, and written to a file named in the run's summary).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from localdev.testing import (
    Handler,
    LambdaContext,
    PgBouncer,
    global_environment,
    load_handler,
)
from localdev.testing import template_document as template
from neonkit import Database, using

from tests.kit.support import app
from tests.kit.support.app import event
from tests.kit.support.proxy import FaultProxy
from tests.kit.support.waiting import MARGIN, hung_up, quiet, terminate, wait_until

pytestmark = pytest.mark.pooler

Admin = psycopg.Connection[tuple[Any, ...]]
Report = Callable[[str, float, str], None]
Proxies = Callable[[str], tuple[FaultProxy, str]]
Event = dict[str, Any]


# -- a sandbox: the handler and its connection ------------------------------------------


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    body: Any
    seconds: float

    @property
    def ms(self) -> float:
        return self.seconds * 1000


class Sandbox:
    """One Lambda execution environment: a freshly imported handler and its own Database."""

    def __init__(self, handler: Handler, database: Database) -> None:
        self.handler = handler
        self.db = database

    def __call__(self, event: Event) -> Answer:
        started = time.monotonic()
        with using(self.db):
            response = self.handler(event, LambdaContext())
        seconds = time.monotonic() - started
        text = response.get("body") or ""
        return Answer(
            response["statusCode"],
            response.get("headers") or {},
            json.loads(text) if text else None,
            seconds,
        )


@pytest.fixture
def direct(notes_direct_url: str) -> Iterator[Admin]:
    """A connection straight to the fixture app's database, bypassing every pooler and proxy."""
    with psycopg.connect(notes_direct_url, autocommit=True) as conn:
        yield conn


def on_notes(url: str, notes_direct_url: str) -> str:
    """The same server, pooler or proxy as `url`, and the fixture app's database."""
    name = psycopg.conninfo.conninfo_to_dict(notes_direct_url)["dbname"]
    return psycopg.conninfo.make_conninfo(url, dbname=str(name))


@pytest.fixture
def sandboxes(
    monkeypatch: pytest.MonkeyPatch, notes_direct_url: str, databases: Callable[..., Database]
) -> Callable[..., Sandbox]:
    """`sandboxes(url, pooled=True, **settings)`: a cold sandbox whose `db` is a Database on
    the fixture app's database, reached like `url` (directly, through a PgBouncer or a
    proxy), with the pooler tests' tight budgets, closed after the test."""
    for name, value in global_environment(app.TEMPLATE).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", app.FUNCTION)

    def make(url: str, *, pooled: bool = True, **settings: Any) -> Sandbox:
        database = databases(on_notes(url, notes_direct_url), pooled=pooled, **settings)
        return Sandbox(load_handler(app.FUNCTION, template=app.TEMPLATE), database)

    return make


# -- events, from the fixture app's events/ ----------------------------------------------


def create(title: str, key: str | None = None) -> Event:
    name = "notes_create_idempotent_created" if key else "notes_create_created"
    return event(name, body={"title": title, "body": "faults"}, key=key)


def listing() -> Event:
    return event("notes_list")


def rows(direct: Admin, title: str) -> list[int]:
    """Ids of the notes with this title, asked of PostgreSQL itself."""
    found = direct.execute("SELECT id FROM notes WHERE title = %s ORDER BY id", [title])
    return [int(row[0]) for row in found.fetchall()]


def unique(label: str) -> str:
    return f"{label} {uuid.uuid4().hex[:12]}"


def assert_unavailable(answer: Answer) -> None:
    """A 503 a client can act on: Retry-After in whole seconds, a JSON error, nothing internal."""
    assert answer.status == 503, answer
    assert int(answer.headers["Retry-After"]) >= 1
    assert answer.body["error"] == "unavailable"
    assert answer.body["message"]
    text = json.dumps(answer.body)
    for leak in ("psycopg", "Traceback", "INSERT", "SELECT", "127.0.0.1"):
        assert leak not in text


@pytest.fixture
def pooled_proxy(pgbouncer: PgBouncer, proxies: Proxies) -> tuple[FaultProxy, str]:
    """A FaultProxy in front of the session's PgBouncer, and the URL through both."""
    return proxies(pgbouncer.url)


# -- a keyed create, resent --------------------------------------------------------------


@pytest.mark.parametrize(("cut", "committed"), [("answer lost", True), ("request lost", False)])
def test_a_keyed_create_whose_connection_died_is_resent_once(
    cut: str,
    committed: bool,
    pooled_proxy: tuple[FaultProxy, str],
    sandboxes: Callable[..., Sandbox],
    direct: Admin,
    report: Report,
) -> None:
    """Fault: a create with an Idempotency-Key (one INSERT ... ON CONFLICT statement, which
    the fixture app marks idempotent=True) meets a connection that dies: its answer is lost
    after COMMIT, or the request itself is lost (a half-open connection). Expected: the kit
    resends it once on a new connection (one connection attempt) and the client gets a 201
    with the one row; where the first delivery had committed, the answer
    says `Idempotent-Replayed: true`. Exactly one row. Figure: time to the 201."""
    proxy, url = pooled_proxy
    api = sandboxes(url)
    assert api(listing()).status == 200  # a warm sandbox
    title, key = unique("pay rent"), f"rent-{uuid.uuid4()}"
    attempts = api.db.connector.attempts

    proxy.reset(0, from_client=cut == "request lost")
    answer = api(create(title, key))

    assert answer.status == 201, answer
    assert api.db.connector.attempts - attempts == 1
    assert (answer.headers.get("Idempotent-Replayed") == "true") is committed
    assert rows(direct, title) == [answer.body["id"]]
    report(f"keyed create, {cut}: time to the 201 (resent once)", answer.ms, "ms")


# -- a write whose connection dies in flight ---------------------------------------------

CUTS = {
    "request lost": (0, True, 0),  # (after_bytes, from_client, rows the write leaves)
    "request cut halfway": (12, True, 0),
    "answer lost": (0, False, 1),
}


@pytest.mark.parametrize("cut", list(CUTS))
@pytest.mark.parametrize("route", ["create", "update"])
def test_a_write_cut_in_flight_is_a_503_and_is_not_resent(
    route: str,
    cut: str,
    pooled_proxy: tuple[FaultProxy, str],
    sandboxes: Callable[..., Sandbox],
    direct: Admin,
    report: Report,
) -> None:
    """Fault: the connection is reset while a write (POST /notes without a key, PATCH
    /notes/{id}) is in flight: the request is lost, cut after a few bytes, or run and
    committed with its answer lost. Expected: a 503 with Retry-After; one request flight and no
    new connection (never resent blindly); the write landed once or not at all, as the cut
    dictates, never twice; the next request works. Figure: time to the 503."""
    after_bytes, from_client, landed = CUTS[cut]
    proxy, url = pooled_proxy
    api = sandboxes(url)
    title = unique(f"cut {route}")
    if route == "update":
        target = api(create(unique("before the cut")))
        assert target.status == 201
        request = event("notes_update_found", note_id=target.body["id"], body={"title": title})
    else:
        request = create(title)
    assert api(listing()).status == 200
    flights, attempts = proxy.flights, api.db.connector.attempts

    proxy.reset(after_bytes, from_client=from_client)
    answer = api(request)
    sent = proxy.flights - flights
    made = api.db.connector.attempts - attempts
    wait_until(lambda: quiet(direct), "the server finished what reached it")

    assert_unavailable(answer)
    assert (sent, made) == (1, 0), "the kit resent the write"
    assert len(rows(direct, title)) == landed
    assert api(listing()).status == 200
    report(f"{cut} ({route}): time to 503", answer.ms, "ms")


# -- the pool is exhausted ---------------------------------------------------------------


@contextlib.contextmanager
def pool_held(url: str, direct: Admin) -> Iterator[None]:
    """Another client holds PgBouncer's only server connection (of the pool `url` reaches: a
    pool per database) in an open transaction."""
    holder = psycopg.connect(url, application_name="api-pool-holder")
    try:
        holder.execute("SELECT pg_backend_pid()")  # BEGIN: the server connection is now held
        state = direct.execute(
            "SELECT state FROM pg_stat_activity WHERE application_name = 'api-pool-holder'"
        ).fetchone()
        assert state == ("idle in transaction",), state
        yield
    finally:
        holder.close()


@pytest.mark.parametrize("call", ["cold GET", "warm GET", "warm POST"])
def test_a_full_pool_is_a_503_within_the_query_timeout(
    call: str,
    bouncers: Callable[..., PgBouncer],
    sandboxes: Callable[..., Sandbox],
    direct: Admin,
    notes_direct_url: str,
    report: Report,
) -> None:
    """Fault: PgBouncer's pool holds one server connection (pool size 1), and another client
    keeps it in an open transaction, so the API's statement waits in PgBouncer's queue.
    Expected: a 503 with Retry-After within query_timeout (2 s) plus a margin, for a cold
    sandbox's GET, a warm sandbox's GET and a warm sandbox's POST; a POST that timed out
    leaves at most one row. Figure: time to the 503."""
    bouncer = bouncers(pool_size=1)
    api = sandboxes(bouncer.url)
    title = unique("full pool")
    if call != "cold GET":
        assert api(listing()).status == 200

    with pool_held(on_notes(bouncer.url, notes_direct_url), direct):
        answer = api(create(title) if call == "warm POST" else listing())

    wait_until(lambda: quiet(direct), "the server finished what reached it")
    assert len(rows(direct, title)) <= 1
    assert_unavailable(answer)
    report(f"full pool, {call}: time to 503", answer.ms, "ms")
    timeout = api.db.connector.settings.query_timeout
    assert timeout <= answer.seconds < timeout + MARGIN


# -- a stale connection between invocations ----------------------------------------------

STALE = [
    "backend terminated",
    "backend terminated behind PgBouncer",
    "PgBouncer restarted",
    "network closed every connection",
]


@pytest.mark.parametrize("first", ["GET", "POST"])
@pytest.mark.parametrize("fault", STALE)
def test_a_stale_connection_is_replaced_without_an_error(
    fault: str,
    first: str,
    direct_url: str,
    bouncers: Callable[..., PgBouncer],
    proxies: Proxies,
    sandboxes: Callable[..., Sandbox],
    admin: Admin,
    direct: Admin,
    report: Report,
) -> None:
    """Fault: between two invocations (the sandbox frozen), the sandbox's connection dies: its
    backend is terminated (as when Neon suspends a compute; directly, or behind PgBouncer,
    which absorbs it), PgBouncer restarts, or the network closes every connection. Expected:
    the next GET and the next POST both succeed (200, 201; the POST's row exists once), after
    one reconnect, or none where PgBouncer absorbed the loss. Figure: the first request's
    duration after the fault, the reconnect included."""
    bouncer = None if fault == "backend terminated" else bouncers()
    proxy = None
    if fault == "backend terminated":
        url = direct_url
    elif fault == "network closed every connection":
        assert bouncer is not None
        proxy, url = proxies(bouncer.url)
    else:
        assert bouncer is not None
        url = bouncer.url
    api = sandboxes(url, pooled=bouncer is not None)
    assert api(listing()).status == 200
    pid = api.db.backend_pid()

    if fault.startswith("backend terminated"):
        terminate(admin, pid)
    elif fault == "PgBouncer restarted":
        assert bouncer is not None
        bouncer.restart()
    else:
        assert proxy is not None
        proxy.close_all()
    if fault != "backend terminated behind PgBouncer":  # there, PgBouncer absorbs it
        wait_until(lambda: hung_up(api.db), "the hang-up reached the sandbox's socket")
    reconnects = api.db.reconnects
    title = unique(f"after {fault}")

    answers = {}
    for method in (first, "POST" if first == "GET" else "GET"):
        answers[method] = api(create(title) if method == "POST" else listing())

    assert answers["GET"].status == 200, answers["GET"]
    assert answers["POST"].status == 201, answers["POST"]
    assert rows(direct, title) == [answers["POST"].body["id"]]
    expected = 0 if fault == "backend terminated behind PgBouncer" else 1
    assert api.db.reconnects - reconnects == expected
    report(f"stale ({fault}): first {first} after it", answers[first].ms, "ms")


# -- a black-holed network ---------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_black_hole_is_a_503_within_the_budget_then_recovers(
    method: str,
    pooled_proxy: tuple[FaultProxy, str],
    sandboxes: Callable[..., Sandbox],
    direct: Admin,
    report: Report,
) -> None:
    """Fault: the network silently drops everything on the sandbox's warm connection and on
    new ones (no FIN, no RST). Expected: a 503 with Retry-After within query_timeout (2 s)
    plus a margin, not a hang, for a GET as for a POST: the wait spent the budget, so nothing
    is retried on a new connection (no connection attempt). After the network heals the next
    GET is a 200, and the POST left at most one row. Figure: time to the 503."""
    proxy, url = pooled_proxy
    api = sandboxes(url)
    assert api(listing()).status == 200
    title = unique("black hole")
    attempts = api.db.connector.attempts

    proxy.black_hole()
    answer = api(create(title) if method == "POST" else listing())
    proxy.heal()

    assert_unavailable(answer)
    assert api.db.connector.attempts == attempts
    timeout = api.db.connector.settings.query_timeout
    assert timeout <= answer.seconds < timeout + MARGIN
    report(f"black hole, warm {method}: time to 503", answer.ms, "ms")
    assert api(listing()).status == 200
    wait_until(lambda: quiet(direct), "the server finished what reached it")
    assert len(rows(direct, title)) <= 1


# -- a compute waking --------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_a_cold_sandbox_waits_for_a_waking_compute(
    method: str,
    pooled_proxy: tuple[FaultProxy, str],
    sandboxes: Callable[..., Sandbox],
    direct: Admin,
    report: Report,
) -> None:
    """Fault: new connections are refused for 2 s, as while a suspended Neon compute wakes,
    when a cold sandbox gets its first request. Expected: that request succeeds (200, or 201
    with exactly one row: nothing was sent before the connection existed), after a few
    connection attempts with backoff, within the connect deadline (5 s here). Figure: the
    first request's duration."""
    proxy, url = pooled_proxy
    api = sandboxes(url, connect_deadline=5)
    title = unique("waking")

    proxy.refuse(2.0)
    answer = api(create(title) if method == "POST" else listing())

    assert answer.status == (201 if method == "POST" else 200), answer
    if method == "POST":
        assert rows(direct, title) == [answer.body["id"]]
    assert 2.0 <= answer.seconds < api.db.connector.settings.connect_deadline
    assert 1 < api.db.connector.attempts < 10
    report(f"compute waking (2 s refused), cold {method}: time to answer", answer.ms, "ms")


# -- nothing left open -------------------------------------------------------------------


def open_transactions(direct: Admin) -> list[tuple[Any, ...]]:
    return direct.execute(
        "SELECT pid, application_name, state, query FROM pg_stat_activity"
        " WHERE datname = current_database() AND state LIKE 'idle in transaction%'"
    ).fetchall()


def expected_status(name: str) -> int:
    """What an event file's name promises: notes_get_missing -> 404."""
    for suffix, status in (
        ("_delete_found", 204),
        ("_created", 201),
        ("_found", 200),
        ("_list", 200),
        ("_missing", 404),
        ("_invalid", 422),
        ("_malformed", 400),
    ):
        if name.endswith(suffix):
            return status
    raise AssertionError(f"no status for {name}")


@pytest.mark.parametrize("upstream", ["postgres", "pgbouncer"])
def test_no_request_leaves_a_transaction_open(
    upstream: str,
    direct_url: str,
    notes_direct_url: str,
    pgbouncer: PgBouncer,
    proxies: Proxies,
    sandboxes: Callable[..., Sandbox],
    direct: Admin,
    report: Report,
) -> None:
    """Fault: none, then a lost answer: a sequence of good and bad requests through the
    handler (every event file in events/, a key reused with another body, a create whose
    answer is lost, a delete), directly and through PgBouncer. Expected: after each request,
    PostgreSQL shows no 'idle in transaction' session for the test database and the sandbox's
    connection is idle (or gone); a control session that does leave one open is seen.
    Figure: requests checked."""
    # Control: the check sees a transaction left open.
    with psycopg.connect(notes_direct_url) as leaky:
        leaky.execute("SELECT 1")
        assert open_transactions(direct)
    assert not open_transactions(direct)

    proxy, url = proxies(direct_url if upstream == "postgres" else pgbouncer.url)
    api = sandboxes(url, pooled=upstream == "pgbouncer")
    made = api(create(unique("kept open?")))
    assert made.status == 201
    note_id = made.body["id"]
    key = f"open-{uuid.uuid4()}"
    steps: list[tuple[str, Event, int]] = []
    names = app.http_events()
    for name in sorted(names, key=lambda name: name == "notes_delete_found"):  # delete last
        found = name.endswith("_found")  # point it at a row that exists
        steps.append((name, event(name, note_id=note_id if found else None), expected_status(name)))
    steps += [
        ("key, first use", create("first body", key), 201),
        ("key, another body", create("another body", key), 422),
        ("answer lost", create(unique("lost")), 503),
        ("after the loss", listing(), 200),
        ("delete, again", event("notes_delete_found", note_id=note_id), 404),
    ]

    checked = 0
    for label, request, status in steps:
        if label == "answer lost":
            proxy.reset(0)
        answer = api(request)
        assert answer.status == status, (label, answer)
        assert not open_transactions(direct), label
        conn = api.db.connection
        assert conn is None or conn.info.transaction_status == 0, label  # IDLE
        checked += 1
    report(f"requests leaving no transaction open (via {upstream})", checked, "requests")


# -- importing a handler opens nothing ---------------------------------------------------

_PROBE = r"""
import importlib, json, os, sys, traceback
socket_events, importers = [], []

def hook(event, args):
    if event.startswith("socket."):
        socket_events.append(f"{event} {args!r}"[:200])
    elif event == "import" and args[0] == "boto3" and "boto3" not in sys.modules:
        frames = [f"{f.filename}:{f.lineno}" for f in traceback.extract_stack()]
        importers.append([f for f in frames if f.startswith(code_dir)])

code_dir, module_name, handler_name = sys.argv[1:4]
sys.path.insert(0, code_dir)  # as Lambda: the function's code first
sys.addaudithook(hook)
module = importlib.import_module(module_name)
sockets = []
if os.path.isdir("/proc/self/fd"):
    for fd in os.listdir("/proc/self/fd"):
        with __import__("contextlib").suppress(OSError):
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                sockets.append(fd)
print(json.dumps({
    "socket_events": socket_events, "open_sockets": sockets,
    "boto3_imported_by": importers, "boto3": "boto3" in sys.modules,
    "handler": callable(getattr(module, handler_name, None)),
}))
"""


@dataclass(frozen=True)
class ImportProbe:
    socket_events: list[str]
    open_sockets: list[str]
    boto3_imported_by: list[list[str]]
    boto3: bool
    handler: bool


def import_in_subprocess(env: dict[str, str]) -> ImportProbe:
    props = template(app.TEMPLATE)["Resources"][app.FUNCTION]["Properties"]
    module_name, handler_name = props["Handler"].rsplit(".", 1)
    code_dir = app.APP / props["CodeUri"]
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(code_dir), module_name, handler_name],
        env=env, cwd=code_dir, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return ImportProbe(**json.loads(result.stdout.strip().splitlines()[-1]))


def lambda_like_environment(**database: str) -> dict[str, str]:
    """What localdev and the tests give a function: Lambda's variables, not its runtime API."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DATABASE_", "NEONKIT_", "AWS_LAMBDA_RUNTIME_API"))
    }
    env.update(global_environment(app.TEMPLATE))
    env.update(
        AWS_LAMBDA_FUNCTION_NAME=app.FUNCTION,
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        **database,
    )
    return env


def test_importing_a_handler_opens_no_socket_and_reads_no_secret(report: Report) -> None:
    """Fault: none; a cold start. The fixture app's function (which calls db.preconnect() at
    module level) is imported in a fresh interpreter, as Lambda's init does, but outside
    Lambda's runtime (as in the tests and localdev): once with DATABASE_SECRET set (a
    Secrets Manager ARN) and once with DATABASE_URL pointing at a listening socket of the
    test's own. Expected: no socket created or connected (audit hook, and no socket file
    descriptor left open), boto3 not imported (so no secret fetched), and nothing connected
    to the listener. Figure: the import's socket events (zero)."""
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:neon-url-AbCdEf"
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        probes = [
            import_in_subprocess(lambda_like_environment(DATABASE_SECRET=secret)),
            import_in_subprocess(
                lambda_like_environment(DATABASE_URL=f"postgresql://app@127.0.0.1:{port}/neondb")
            ),
        ]
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected while the handler was imported

    for probe in probes:
        assert probe.handler, f"{app.FUNCTION}: its Handler is not a callable of the module"
        assert probe.socket_events == [], probe.socket_events
        assert probe.open_sockets == [], probe.open_sockets
        assert not probe.boto3, f"boto3 imported at init: {probe.boto3_imported_by}"
    report(
        f"{app.FUNCTION}: socket events while importing",
        sum(len(p.socket_events) for p in probes),
        "events",
    )
