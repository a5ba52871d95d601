"""The todos API through faults: the real handler, the events from events/, a stub context.

Each test loads `ApiFunction` from template.yaml as Lambda would (a fresh module is a
fresh sandbox) and points the kit's `db` at a Database with tight budgets (query_timeout 2 s,
connect_timeout 2 s, connect_deadline 4 s) behind a FaultProxy in front of PgBouncer in
transaction mode (Neon's `-pooler`), or straight at PostgreSQL where the fault is the
server's. What a client sees is checked at the HTTP level: status, `Retry-After`, JSON body;
what the database holds is checked behind everyone's back, over the direct connection.
Figures go through `report()` (printed and appended to bench/results/pooler_figures.json).
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from localdev.testing import (
    Handler,
    LambdaContext,
    PgBouncer,
    global_environment,
    load_event,
    load_handler,
)
from localdev.testing import template_document as template
from neonkit import Database, using
from neonkit.migrations import migrate

from tests.kit.support.proxy import FaultProxy

ROOT = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.pooler

Admin = psycopg.Connection[tuple[Any, ...]]
Report = Callable[[str, float, str], None]
Proxies = Callable[[str], tuple[FaultProxy, str]]
Event = dict[str, Any]
MARGIN = 1.0  # seconds of slack on top of a configured budget


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


@pytest.fixture(scope="module")
def schema(direct_url: str) -> str:
    """The project's migrations, applied over the direct connection (safe to run twice)."""
    migrate(direct_url, ROOT / "migrations")
    return direct_url


@pytest.fixture
def sandboxes(
    monkeypatch: pytest.MonkeyPatch, schema: str, databases: Callable[..., Database]
) -> Callable[..., Sandbox]:
    """`sandboxes(url, pooled=True, **settings)`: a cold sandbox whose `db` is a Database on
    `url` with the pooler tests' tight budgets, closed after the test."""
    for name, value in global_environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "ApiFunction")
    monkeypatch.setenv("POWERTOOLS_METRICS_DISABLED", "false")

    def make(url: str, *, pooled: bool = True, **settings: Any) -> Sandbox:
        return Sandbox(load_handler("ApiFunction"), databases(url, pooled=pooled, **settings))

    return make


# -- events, from the files in events/ ---------------------------------------------------


def event(
    name: str, *, todo_id: int | None = None, body: Any = None, key: str | None = None
) -> Event:
    """An event file, with another id, body or Idempotency-Key where the test says."""
    data = copy.deepcopy(load_event(name))
    if todo_id is not None:
        path = data["rawPath"].rsplit("/", 1)[0] + f"/{todo_id}"
        data["rawPath"] = data["requestContext"]["http"]["path"] = path
        data["pathParameters"] = {"proxy": path.lstrip("/")}  # the template's catch-all
    if body is not None:
        data["body"] = json.dumps(body)
        data["headers"]["content-length"] = str(len(data["body"].encode()))
    if key is not None:
        data["headers"]["idempotency-key"] = key
    return data


def create(title: str, key: str | None = None) -> Event:
    name = "todos_create_idempotent_created" if key else "todos_create_created"
    return event(name, body={"title": title, "tags": ["faults"]}, key=key)


def listing() -> Event:
    return event("todos_list")


def rows(direct: Admin, title: str) -> list[int]:
    """Ids of the rows with this title, asked of PostgreSQL itself."""
    found = direct.execute("SELECT id FROM todos WHERE title = %s ORDER BY id", [title])
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


# -- a duplicate delivery ----------------------------------------------------------------


def test_a_create_replayed_after_its_answer_was_lost_makes_one_row(
    pooled_proxy: tuple[FaultProxy, str],
    sandboxes: Callable[..., Sandbox],
    direct: Admin,
    report: Report,
) -> None:
    """Fault: a create with an Idempotency-Key reaches PostgreSQL and commits, but the
    connection is reset as the answer comes back (after COMMIT), so the client never sees it
    and delivers the same request again. Expected: the first call is a 503 with Retry-After
    (ConnectionLostError: the outcome is unknown) and the kit does not resend the INSERT (one
    request flight, no new connection); the client's replay is a 201 with the same row and
    `Idempotent-Replayed: true`; exactly one row exists. Figures: time to the 503, and the
    replay's duration (a reconnect included)."""
    proxy, url = pooled_proxy
    api = sandboxes(url)
    assert api(listing()).status == 200  # a warm sandbox
    title, key = unique("pay rent"), f"rent-{uuid.uuid4()}"
    flights, attempts = proxy.flights, api.db.connector.attempts

    # GIVEN the answer to the next statement is lost
    proxy.reset(0)
    # WHEN the create is sent, then replayed by the client
    first = api(create(title, key))
    sent = proxy.flights - flights
    made = api.db.connector.attempts - attempts
    replay = api(create(title, key))

    # THEN the first is an honest 503, the replay returns the row the first one committed
    assert_unavailable(first)
    assert (sent, made) == (1, 0), "the kit resent the write"
    assert replay.status == 201, replay
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert rows(direct, title) == [replay.body["id"]]
    assert replay.body["title"] == title
    report("lost answer to a create: time to 503", first.ms, "ms")
    report("lost answer to a create: the replay (201, reconnect included)", replay.ms, "ms")


# -- a write whose connection dies in flight ---------------------------------------------

CUTS = {
    "request lost": (0, True, 0),  # (after_bytes, from_client, rows the write leaves)
    "request cut halfway": (12, True, 0),
    "answer lost": (0, False, 1),
}


@pytest.mark.parametrize("cut", list(CUTS))
@pytest.mark.parametrize("route", ["create", "batch", "update"])
def test_a_write_cut_in_flight_is_a_503_and_is_not_resent(
    route: str,
    cut: str,
    pooled_proxy: tuple[FaultProxy, str],
    sandboxes: Callable[..., Sandbox],
    direct: Admin,
    report: Report,
) -> None:
    """Fault: the connection is reset while a write (POST /todos, POST /todos/batch, PATCH
    /todos/{id}) is in flight: the request is lost, cut after a few bytes, or run and
    committed with its answer lost. Expected: a 503 with Retry-After; one request flight and no
    new connection (never resent blindly); the write landed once or not at all, as the cut
    dictates (a batch all or nothing), never twice; the next request works. Figure: time to
    the 503."""
    after_bytes, from_client, landed = CUTS[cut]
    proxy, url = pooled_proxy
    api = sandboxes(url)
    title = unique(f"cut {route}")
    if route == "update":
        target = api(create(unique("before the cut")))
        assert target.status == 201
        request = event("todos_update_found", todo_id=target.body["id"], body={"title": title})
    elif route == "batch":
        request = event("todos_batch_created", body=[{"title": title}, {"title": title}])
    else:
        request = create(title)
    assert api(listing()).status == 200
    flights, attempts = proxy.flights, api.db.connector.attempts

    proxy.reset(after_bytes, from_client=from_client)
    answer = api(request)
    sent = proxy.flights - flights
    made = api.db.connector.attempts - attempts
    time.sleep(0.2)  # anything still travelling lands

    assert_unavailable(answer)
    assert (sent, made) == (1, 0), "the kit resent the write"
    expected = landed * (2 if route == "batch" else 1)
    assert len(rows(direct, title)) == expected
    assert api(listing()).status == 200
    report(f"{cut} ({route}): time to 503", answer.ms, "ms")


# -- the pool is exhausted ---------------------------------------------------------------


@contextlib.contextmanager
def pool_held(bouncer: PgBouncer, direct: Admin) -> Iterator[None]:
    """Another client holds PgBouncer's only server connection in an open transaction."""
    holder = psycopg.connect(bouncer.url, application_name="api-pool-holder")
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

    with pool_held(bouncer, direct):
        answer = api(create(title) if call == "warm POST" else listing())

    time.sleep(0.2)
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


def terminate(admin: Admin, pid: int) -> None:
    """pg_terminate_backend, then wait until the process is gone (as Neon's suspend does)."""
    admin.execute("SELECT pg_terminate_backend(%s)", [pid])
    deadline = time.monotonic() + 5
    while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone():
        assert time.monotonic() < deadline, f"backend {pid} did not exit"
        time.sleep(0.01)


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
    time.sleep(0.1)  # frozen
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
    time.sleep(0.2)
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
    """What an event file's name promises: todos_get_missing -> 404."""
    for suffix, status in (
        ("_delete_found", 204),
        ("_created", 201),
        ("_found", 200),
        ("_list", 200),
        ("_filtered", 200),
        ("_get", 200),  # openapi_get: the document
        ("_missing", 404),
        ("_invalid", 422),
        ("_malformed", 400),
        ("_too_large", 413),
    ):
        if name.endswith(suffix):
            return status
    raise AssertionError(f"no status for {name}")


@pytest.mark.parametrize("upstream", ["postgres", "pgbouncer"])
def test_no_request_leaves_a_transaction_open(
    upstream: str,
    direct_url: str,
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
    with psycopg.connect(direct_url) as leaky:
        leaky.execute("SELECT 1")
        assert open_transactions(direct)
    assert not open_transactions(direct)

    proxy, url = proxies(direct_url if upstream == "postgres" else pgbouncer.url)
    api = sandboxes(url, pooled=upstream == "pgbouncer")
    made = api(create(unique("kept open?")))
    assert made.status == 201
    todo_id = made.body["id"]
    key = f"open-{uuid.uuid4()}"
    steps: list[tuple[str, Event, int]] = []
    names = sorted(  # the HTTP API's events (other functions have theirs there too)
        path.stem
        for path in (ROOT / "events").glob("*.json")
        if "http" in load_event(path.stem).get("requestContext", {})
    )
    for name in sorted(names, key=lambda name: name == "todos_delete_found"):  # delete last
        found = name.endswith("_found")  # point it at a row that exists
        steps.append((name, event(name, todo_id=todo_id if found else None), expected_status(name)))
    steps += [
        ("key, first use", create("first body", key), 201),
        ("key, another body", create("another body", key), 422),
        ("answer lost", create(unique("lost")), 503),
        ("after the loss", listing(), 200),
        ("delete, again", event("todos_delete_found", todo_id=todo_id), 404),
    ]

    checked = 0
    for label, request, status in steps:
        if label == "answer lost":
            proxy.reset(0)
        answer = api(request)
        assert answer.status == status, (label, answer)
        assert not open_transactions(direct), label
        conn = api.db._conn
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
        importers.append([f for f in frames if f.startswith((code_dir, layer))])

code_dir, module_name, handler_name, layer = sys.argv[1:5]
sys.path[:0] = [code_dir, layer]  # as Lambda: the function's code, then /opt/python
sys.addaudithook(hook)
import neonkit._secrets
fetches = []
original = neonkit._secrets.fetch_url
def spy(*args, **kwargs):
    fetches.append(repr(args)[:100])
    return original(*args, **kwargs)
neonkit._secrets.fetch_url = spy
module = importlib.import_module(module_name)
sockets = []
if os.path.isdir("/proc/self/fd"):
    for fd in os.listdir("/proc/self/fd"):
        with __import__("contextlib").suppress(OSError):
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                sockets.append(fd)
print(json.dumps({
    "socket_events": socket_events, "open_sockets": sockets, "secret_fetches": fetches,
    "boto3_imported_by": importers, "boto3": "boto3" in sys.modules,
    "handler": callable(getattr(module, handler_name, None)),
}))
"""


def template_functions() -> list[str]:
    """Every zip-packaged function in template.yaml (others add functions there)."""
    resources = template()["Resources"]
    return sorted(
        name
        for name, resource in resources.items()
        if resource.get("Type") == "AWS::Serverless::Function"
        and "CodeUri" in resource.get("Properties", {})
    )


@dataclass(frozen=True)
class ImportProbe:
    socket_events: list[str]
    open_sockets: list[str]
    secret_fetches: list[str]
    boto3_imported_by: list[list[str]]
    boto3: bool
    handler: bool


def import_in_subprocess(logical_id: str, env: dict[str, str]) -> ImportProbe:
    props = template()["Resources"][logical_id]["Properties"]
    module_name, handler_name = props["Handler"].rsplit(".", 1)
    code_dir = ROOT / props["CodeUri"]
    result = subprocess.run(
        [sys.executable, "-c", _PROBE, str(code_dir), module_name, handler_name,
         str(ROOT / "layer" / "python")],
        env=env, cwd=code_dir, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return ImportProbe(**json.loads(result.stdout.strip().splitlines()[-1]))


def lambda_like_environment(logical_id: str, **database: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "NEONKIT_"))}
    env.update(global_environment())
    env.update(
        AWS_LAMBDA_FUNCTION_NAME=logical_id,
        AWS_REGION="us-east-1",
        AWS_DEFAULT_REGION="us-east-1",
        POWERTOOLS_METRICS_DISABLED="true",
        **database,
    )
    return env


@pytest.mark.parametrize("logical_id", template_functions())
def test_importing_a_handler_opens_no_socket_and_reads_no_secret(
    logical_id: str, report: Report
) -> None:
    """Fault: none; a cold start. Every function in template.yaml is imported in a fresh
    interpreter, as Lambda's init does (SnapStart snapshots this state): once with
    DATABASE_SECRET set (a Secrets Manager ARN) and once with DATABASE_URL pointing at a
    listening socket of the test's own. Expected: no socket created or connected (audit
    hook, and no socket file descriptor left open), no secret fetched, boto3 not imported at
    module level, and nothing connected to the listener. Figure: the import's socket events
    (zero)."""
    secret = "arn:aws:secretsmanager:us-east-1:123456789012:secret:neon-url-AbCdEf"
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        probes = [
            import_in_subprocess(
                logical_id, lambda_like_environment(logical_id, DATABASE_SECRET=secret)
            ),
            import_in_subprocess(
                logical_id,
                lambda_like_environment(
                    logical_id, DATABASE_URL=f"postgresql://app@127.0.0.1:{port}/neondb"
                ),
            ),
        ]
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody connected while the handler was imported

    for probe in probes:
        assert probe.handler, f"{logical_id}: its Handler is not a callable of the module"
        assert probe.socket_events == [], probe.socket_events
        assert probe.open_sockets == [], probe.open_sockets
        assert probe.secret_fetches == [], probe.secret_fetches
        assert not probe.boto3, f"{logical_id} imports boto3 at init: {probe.boto3_imported_by}"
    report(
        f"{logical_id}: socket events while importing",
        sum(len(p.socket_events) for p in probes),
        "events",
    )
