"""What the benchmarks share: a PostgreSQL with TLS and SCRAM, the apps they serve, timing.

The kit's benchmarks serve the kit's own fixture app (`FIXTURE`: tests/kit/app, the notes
API), so that they never depend on the sample; the sample's API (`SAMPLE`: functions/api,
todos) adds rows of its own where it is still there.

The server is the embedded one (or BENCH_DATABASE_URL), set up like Neon's endpoint where it
matters for round trips: TLS in front (the embedded PostgreSQL is built without SSL, so TLS
ends in `tls_front.TlsFront`, as it ends in Neon's proxy; the certificate is a self-signed
one made with openssl in a temporary folder) and a password role that logs in with
SCRAM-SHA-256, so a connect is the real exchange: TLS negotiation, TLS handshake, startup,
SASL.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LAYER = ROOT / "layer" / "python"
sys.path[:0] = [str(LAYER), str(ROOT)]  # the layer's layout, as in Lambda

import psycopg  # noqa: E402
from localdev._postgres import EmbeddedPostgres, free_port  # noqa: E402
from neonkit import Database, Settings  # noqa: E402
from neonkit.migrations import migrate  # noqa: E402
from psycopg import conninfo  # noqa: E402
from tls_front import TlsFront  # noqa: E402

RESULTS = ROOT / "bench" / "results"
ROLE, PASSWORD = "bench", "bench-password-1"


@dataclass(frozen=True)
class App:
    """A function the benchmarks serve: where its template, events and migrations are, and
    how to add a row for a request to get, change or delete."""

    name: str
    resource: str  # what its events are named for: notes_get_found.json
    template: Path
    function: str  # the logical id in the template
    events: Path
    migrations: Path
    insert_sql: str  # one new row; RETURNING its id

    def present(self) -> bool:
        return self.template.exists() and self.events.is_dir() and self.migrations.is_dir()

    def insert(self, admin: psycopg.Connection[Any]) -> int:
        row = admin.execute(self.insert_sql).fetchone()
        assert row is not None
        return int(row[0])

    def load(self) -> Handler:
        """The handler, imported as Lambda would (a new module), with the template's
        environment."""
        from localdev.testing import global_environment, load_handler

        os.environ.update(global_environment(self.template))
        os.environ["AWS_LAMBDA_FUNCTION_NAME"] = self.function
        with quiet():
            return load_handler(self.function, template=self.template)

    def event(self, name: str, *, row_id: int | None = None, key: str | None = None) -> Event:
        """An event file, aimed at another row or carrying another Idempotency-Key."""
        from localdev.testing import load_event

        data = copy.deepcopy(load_event(name, events=self.events))
        if row_id is not None:
            path = data["rawPath"].rsplit("/", 1)[0] + f"/{row_id}"
            data["rawPath"] = data["requestContext"]["http"]["path"] = path
            data["pathParameters"] = {"id": str(row_id)}
        if key is not None:
            data["headers"]["idempotency-key"] = key
        return data


FIXTURE = App(
    "notes (the kit's fixture app)",
    "notes",
    ROOT / "tests" / "kit" / "app" / "template.yaml",
    "NotesApiFunction",
    ROOT / "tests" / "kit" / "app" / "events",
    ROOT / "tests" / "kit" / "app" / "migrations",
    "INSERT INTO notes (title) VALUES ('bench') RETURNING id",
)
SAMPLE = App(
    "todos (the sample app)",
    "todos",
    ROOT / "template.yaml",
    "ApiFunction",
    ROOT / "events",
    ROOT / "migrations",
    "INSERT INTO todos (owner, title) VALUES ('anonymous', 'bench') RETURNING id",
)
APPS = [app for app in (FIXTURE, SAMPLE) if app.present()]


@dataclass(frozen=True)
class Server:
    """Where the benchmarks connect: host, port and how to log in."""

    host: str
    port: int  # TLS-capable: the TLS front (embedded server) or the server itself
    direct_port: int  # the PostgreSQL server itself (plain TCP for the embedded one)
    dbname: str
    user: str
    password: str | None
    tls: bool  # the server accepts TLS (so sslmode=require and sslnegotiation=direct apply)
    external: bool  # BENCH_DATABASE_URL: not ours, nothing started

    def url(self, *, port: int | None = None, **params: str) -> str:
        """A libpq connection string, through `port` (a proxy) when given."""
        values: dict[str, Any] = {
            "host": self.host,
            "port": port or self.port,
            "dbname": self.dbname,
            "user": self.user,
        }
        if self.password:
            values["password"] = self.password
        return conninfo.make_conninfo("", **values, **params)

    def neon_url(self, *, port: int | None = None) -> str:
        """The kit's defaults for a Neon host, minus the certificate check (self-signed here)
        and channel binding (TLS ends in front of the server, which then cannot bind SCRAM to
        it; SCRAM-SHA-256-PLUS takes the same messages as SCRAM-SHA-256)."""
        if not self.tls:
            return self.url(port=port)
        return self.url(port=port, sslmode="require", sslnegotiation="direct")

    def guide_url(self, *, port: int | None = None) -> str:
        """Neon's Lambda guide: the connection string with `sslmode=require`."""
        return self.url(port=port, sslmode="require") if self.tls else self.url(port=port)

    def plain_url(self, *, port: int | None = None) -> str:
        """No TLS, straight to PostgreSQL (or through `port`): the loopback baseline."""
        port = port or self.direct_port
        return self.url(port=port, sslmode="disable") if self.tls else self.url(port=port)


@contextlib.contextmanager
def database_server() -> Iterator[Server]:
    """BENCH_DATABASE_URL as given, or an embedded PostgreSQL with TLS and a SCRAM role."""
    external = os.environ.get("BENCH_DATABASE_URL")
    if external:
        params = conninfo.conninfo_to_dict(external)
        port = int(str(params.get("port", 5432)))
        server = Server(
            host=str(params.get("host", "127.0.0.1")),
            port=port,
            direct_port=port,
            dbname=str(params.get("dbname", "postgres")),
            user=str(params.get("user", "postgres")),
            password=str(params["password"]) if params.get("password") else None,
            tls=params.get("sslmode") not in (None, "disable", "allow", "prefer"),
            external=True,
        )
        for app in APPS:
            migrate(server.url(), app.migrations)
        yield server
        return
    folder = Path(tempfile.mkdtemp(prefix="neonkit-bench-"))
    pg = EmbeddedPostgres(folder / "data", free_port(), durable=False)
    try:
        pg.start(max_connections=200)
        _require_scram(pg)
        certfile, keyfile = _self_signed_certificate(folder)
        with TlsFront("127.0.0.1", pg.port, certfile, keyfile) as front:
            server = Server(
                "127.0.0.1", front.port, pg.port, "postgres", ROLE, PASSWORD, True, False
            )
            for app in APPS:
                migrate(server.plain_url(), app.migrations)
            yield server
    finally:
        pg.stop()
        shutil.rmtree(folder, ignore_errors=True)


def _require_scram(pg: EmbeddedPostgres) -> None:
    """A role that logs in with SCRAM-SHA-256, as on Neon."""
    hba = pg.data_dir / "pg_hba.conf"
    hba.write_text(f"host all {ROLE} 127.0.0.1/32 scram-sha-256\n" + hba.read_text())
    with psycopg.connect(pg.url, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {ROLE} LOGIN SUPERUSER PASSWORD '{PASSWORD}'")
    pg.reload()


def _self_signed_certificate(folder: Path) -> tuple[str, str]:
    certfile, keyfile = folder / "server.crt", folder / "server.key"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-keyout", str(keyfile), "-out", str(certfile),
        ],
        check=True, capture_output=True,
    )  # fmt: skip
    return str(certfile), str(keyfile)


# -- the handler, its events and its context ----------------------------------------------


class NullWriter(io.TextIOBase):
    """Where the handler's log and metric lines go during a benchmark (Lambda's stdout)."""

    def write(self, text: str) -> int:
        return len(text)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """Swallow stdout: Powertools writes a log line and metrics for every request."""
    saved = sys.stdout
    sys.stdout = NullWriter()
    try:
        yield
    finally:
        sys.stdout = saved


Event = dict[str, Any]
Handler = Callable[[Event, Any], dict[str, Any]]


def context(function: str) -> Any:
    from localdev.testing import LambdaContext

    return LambdaContext(function_name=function)


def new_key() -> str:
    return f"bench-{uuid.uuid4().hex}"


def call(handler: Handler, data: Event, *, expect: int | None = None) -> dict[str, Any]:
    with quiet():
        response = handler(data, _CONTEXT)
    if expect is not None and response["statusCode"] != expect:
        raise SystemExit(
            f"{data['routeKey']}: expected {expect}, got {response['statusCode']}: "
            f"{response.get('body')}"
        )
    return response


def body(response: dict[str, Any]) -> Any:
    return json.loads(response["body"])


_CONTEXT = context("bench")


class RecordingDatabase(Database):
    """neonkit's Database, also keeping the statements it sends (text, parameters), so that
    a baseline can run exactly the same SQL with plain psycopg."""

    def __init__(self, url: str, *, settings: Settings) -> None:
        super().__init__(url, settings=settings)
        self.sent: list[tuple[Any, Any]] = []
        if not hasattr(Database, "_execute"):
            raise SystemExit("neonkit.Database no longer has _execute: update RecordingDatabase")

    def _execute(self, conn: Any, text: str, args: Any, fetch: Any) -> Any:
        self.sent.append((text, args))
        return super()._execute(conn, text, args, fetch)


# -- timing ------------------------------------------------------------------------------


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def p50(values: list[float]) -> float:
    return statistics.median(values)


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10)[-1] if len(values) >= 2 else values[0]


def summary(values: list[float]) -> dict[str, Any]:
    """Milliseconds: median, 90th percentile, samples."""
    return {"p50_ms": ms(p50(values)), "p90_ms": ms(p90(values)), "samples": len(values)}


def timed(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def python_tag() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"
