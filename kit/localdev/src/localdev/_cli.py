"""`python -m localdev invoke | serve | db | token | resource`: the command line.

Exit status: 0 when every invocation succeeded, 1 when one failed (error, timeout, crash),
2 when the command could not run (bad template, option or setup); `db status` gives 3 when
the database is stopped.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from ._database import LocalDatabase, configured_url, needs_local_database
from ._environment import lambda_environment
from ._errors import LocalDevError, SetupError, TemplateError
from ._jwt import LOCAL_AUDIENCE, LOCAL_ISSUER, Keys, Unauthorized, check, issue
from ._parameters import EnvVars, parse_parameter_overrides
from ._routes import Route, Router
from ._sandbox import Sandbox
from ._server import ApiServer, Functions, describe_routes
from ._template import Function, Template

__all__ = ["main"]


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    # SIGTERM stops a command like Ctrl-C does: what it started (sandboxes, PostgreSQL) stops.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return int(args.run(args))
    except LocalDevError as exc:
        log(f"localdev: error: {exc}")
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)


def log(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def invoke(args: argparse.Namespace) -> int:
    template = _template(args)
    function = template.function(args.function or _only_function(template))
    _warn([function])
    environment = lambda_environment(
        function, _env_vars(args).for_function(function.logical_id), template.region
    )
    event = _read_event(args.event)
    if args.token is not None and isinstance(event, dict):
        event.setdefault("headers", {})["authorization"] = f"Bearer {args.token}"
    refused = _authorize(function, event, Keys(_local_dir(template)))
    if refused is not None:
        log(f"localdev: the route's JWT authorizer refused the event ({refused}); "
            "the function was not invoked")  # fmt: skip
        print(json.dumps(_UNAUTHORIZED), flush=True)
        return 1
    failures = 0
    with (
        _database(template, [function], [environment], args.no_db, args.db_role),
        Sandbox(function, environment, log) as sandbox,
    ):
        for _ in range(args.repeat):
            invocation = sandbox.invoke(event)
            print(invocation.payload, flush=True)
            failures += not invocation.ok
    return 1 if failures else 0


def serve(args: argparse.Namespace) -> int:
    template = _template(args)
    env_vars = _env_vars(args)
    routes: list[Route] = []
    served: dict[str, Function] = {}
    functions = template.functions()
    _warn(functions)
    for function in functions:
        for route in function.routes:
            if route.payload_format != "2.0":
                log(f"localdev: skipped {route.key} of {function.logical_id}: "
                    f"PayloadFormatVersion {route.payload_format} is not supported")  # fmt: skip
                continue
            routes.append(route)
            served[function.logical_id] = function
        for name, kind in function.events:
            if kind != "HttpApi":
                log(f"localdev: not served: {function.logical_id}.{name} ({kind} event); "
                    f"try `invoke {function.logical_id} -e <event file>`")  # fmt: skip
    if not routes:
        raise TemplateError(f"{template.path.name} has no HttpApi routes to serve")
    environments = {
        logical_id: lambda_environment(function, env_vars.for_function(logical_id), template.region)
        for logical_id, function in served.items()
    }
    functions_envs = list(environments.values())
    with _database(
        template, list(served.values()), functions_envs, args.no_db, args.db_role
    ) as migrate_pending:
        sandboxes = Functions(
            served,
            environments,
            log,
            cold=args.cold,
            concurrency=args.concurrency,
            watch=[LocalDatabase(template.root).migrations_dir] if migrate_pending else [],
            on_change=migrate_pending,
        )
        try:
            server = ApiServer(
                (args.host, args.port),
                Router(routes),
                sandboxes,
                log,
                Keys(_local_dir(template)),
            )
        except OSError as exc:
            raise SetupError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from None
        base_url = f"http://{args.host}:{server.port}"
        for line in describe_routes(routes, base_url):
            log(line)
        mode = (
            "a new sandbox per request"
            if args.cold
            else f"up to {args.concurrency} warm sandboxes per function"
            if args.concurrency > 1
            else "one warm sandbox per function"
        )
        guarded = sorted({r.authorizer.issuer for r in routes if r.authorizer is not None})
        for issuer in guarded:
            log(f"Bearer tokens from {issuer} are required where its authorizer guards a route")
        if not guarded:
            log("No route asks for a token (no AuthIssuer): every caller is anonymous")
        log(f"Running on {base_url} ({mode}); CTRL+C to quit")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            log("localdev: stopping")
        finally:
            server.server_close()
            sandboxes.close()
    return 0


def token(args: argparse.Namespace) -> int:
    """Print a token from the local issuer (its key made on first use in .local/)."""
    claims: dict[str, str] = {}
    for pair in args.claim or []:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise SetupError(f"--claim takes NAME=VALUE, got {pair!r}")
        claims[name] = value
    folder = Path(args.template).resolve().parent / ".local"
    print(issue(folder, args.sub, audience=args.audience, lifetime=args.lifetime, claims=claims))
    log(f"localdev: a token from {LOCAL_ISSUER} for {args.sub}, valid {args.lifetime} s; "
        "serve with --parameter-overrides "
        f"AuthIssuer={LOCAL_ISSUER} AuthAudience={args.audience}")  # fmt: skip
    return 0


# What API Gateway answers when a route's authorizer refuses the request.
_UNAUTHORIZED = {
    "statusCode": 401,
    "headers": {"content-type": "application/json", "www-authenticate": "Bearer"},
    "body": '{"message":"Unauthorized"}',
}


def _authorize(function: Function, event: Any, keys: Keys) -> Unauthorized | None:
    """For an HTTP event of a route with a JWT authorizer: check its bearer token, as API
    Gateway would, and put the verified claims in the event (in place of any it carries)."""
    if not isinstance(event, dict):
        return None
    route_key = event.get("routeKey")
    route = next((r for r in function.routes if r.key == route_key), None)
    if route is None or route.authorizer is None:
        return None
    given = event.get("headers")
    pairs = given.items() if isinstance(given, dict) else ()
    headers = {str(name).lower(): str(value) for name, value in pairs}
    try:
        claims = check(route.authorizer, headers, keys)
    except Unauthorized as refused:
        return refused
    context = event.setdefault("requestContext", {})
    context["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return None


def _local_dir(template: Template) -> Path:
    return template.root / ".local"


def database(args: argparse.Namespace) -> int:
    project = Path(args.template).resolve().parent
    db = LocalDatabase(project)
    action = args.action
    if configured_url() and action != "url":
        log("localdev: note: DATABASE_URL is set, so invoke and serve use it, not this database")
    if action == "url":
        print(db.url)
    elif action == "status":
        running = db.is_running()
        state = "running" if running else "stopped"
        print(f"{state}: {db.url} (data in {_relative(db.data_dir, project)})")
        return 0 if running else 3
    elif action == "stop":
        db.stop()
        log("localdev: PostgreSQL stopped")
    elif action in ("start", "migrate", "reset"):
        was_running = db.is_running()
        if action == "reset":
            db.reset()
            log(f"localdev: deleted {_relative(db.data_dir, project)}")
        started = db.start()
        try:
            _migrate(db, _layer_paths(args.template))
        finally:
            if started and action != "start" and not was_running:
                db.stop()
        if action == "start":
            print(db.url)
    return 0


def resource(args: argparse.Namespace) -> int:
    from ._scaffold import add_resource  # only this command needs it

    added = add_resource(args.template, args.name, args.fields, owner=args.owner)
    spec, root = added.spec, Path(args.template).resolve().parent
    print(f"Added the resource {spec.name} (class {spec.class_name}):")
    for path in added.created:
        print(f"  {_relative(path, root)}")
    for path in added.changed:
        print(f"  {_relative(path, root)} (adds its routes)")
    if not added.formatted:
        log("localdev: note: ruff is not installed, so the new files were not formatted")
    print(f"Next: make test PYTEST_ARGS=tests/{spec.name}, then make dev (a running one "
          f"applies the new migration at its next request) and "
          f"curl -s localhost:3000/{spec.name}")  # fmt: skip
    return 0


@contextmanager
def _database(
    template: Template,
    functions: list[Function],
    environments: list[dict[str, str]],
    no_db: bool,
    db_role: str | None = None,
) -> Iterator[Callable[[], None] | None]:
    """Give DATABASE_URL to the functions whose environment names no database.

    The URL from the environment or `.env` if there is one, else the project's embedded
    PostgreSQL: started (and stopped afterwards) if it is not running, migrations applied;
    with `db_role`, the functions' sessions run as that role there. Yields what applies the
    migrations added since (on the embedded database only; None otherwise).
    """
    needing = [env for env in environments if needs_local_database(env)]
    url = configured_url() if needing else None
    if not needing or url or no_db:
        for env in needing:
            if url:
                env["DATABASE_URL"] = url
        yield None
        return
    db = LocalDatabase(template.root)
    started = db.start()
    try:
        state = "started" if started else "already running"
        where = _relative(db.data_dir, template.root)
        log(f"localdev: PostgreSQL {state} on 127.0.0.1:{db.server().port} (data in {where})")
        search_path = [path for function in functions for path in function.layer_paths]
        _migrate(db, search_path)
        url = db.functions_url(db_role)
        if db_role:
            log(f"localdev: the functions' statements run as {db_role} (--db-role)")
        for env in needing:
            env["DATABASE_URL"] = url

        def migrate_pending() -> None:
            try:
                _migrate(db, search_path)
            except SetupError as exc:  # the requests will say what is missing; this says why
                log(f"localdev: {exc}")

        yield migrate_pending
    finally:
        if started:
            db.stop()
            log("localdev: PostgreSQL stopped")


def _migrate(db: LocalDatabase, search_path: list[Path]) -> None:
    applied = db.migrate(search_path)
    for name in applied:
        log(f"localdev: applied migration {name}")


def _template(args: argparse.Namespace) -> Template:
    overrides = parse_parameter_overrides(args.parameter_overrides or [])
    return Template.load(args.template, overrides)


def _env_vars(args: argparse.Namespace) -> EnvVars:
    return EnvVars.load(args.env_vars) if args.env_vars else EnvVars()


def _only_function(template: Template) -> str:
    ids = template.function_ids()
    if len(ids) != 1:
        raise TemplateError(f"name the function to invoke: one of {', '.join(ids) or 'none'}")
    return ids[0]


def _read_event(source: str | None) -> Any:
    if source is None:
        return {}
    name = "stdin" if source == "-" else source
    try:
        text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"cannot read the event {name}: {exc.strerror}") from None
    try:
        return json.loads(text) if text.strip() else {}
    except json.JSONDecodeError as exc:
        raise TemplateError(f"the event {name} is not JSON: {exc}") from None


def _warn(functions: list[Function]) -> None:
    for function in functions:
        for warning in function.warnings:
            log(f"localdev: warning: {warning}")
    here = f"python{sys.version_info.major}.{sys.version_info.minor}"
    runtimes = sorted({f.runtime for f in functions} - {here})
    if runtimes:
        log(f"localdev: note: Lambda runs {' and '.join(runtimes)}; this is {here}")


def _layer_paths(template_path: str) -> list[Path]:
    """The template's layer folders (where neonkit lives), or none if it cannot be read."""
    try:
        template = Template.load(template_path)
        return [path for function in template.functions() for path in function.layer_paths]
    except LocalDevError:
        return []


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected 1 or more, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m localdev",
        description="Run the template's functions locally, without Docker.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("-t", "--template", default="template.yaml", help="default: %(default)s")
    common.add_argument(
        "--parameter-overrides", nargs="+", action="extend", metavar="KEY=VALUE",
        help="template parameters: Key=Value or ParameterKey=Key,ParameterValue=Value",
    )  # fmt: skip
    common.add_argument(
        "-n", "--env-vars", metavar="FILE",
        help='JSON: {"FunctionLogicalId": {"VAR": "value"}, "Parameters": {"VAR": "value"}}',
    )  # fmt: skip
    common.add_argument(
        "--no-db", action="store_true",
        help="start no local database (DATABASE_URL from the environment is still passed)",
    )  # fmt: skip
    common.add_argument(
        "--db-role", metavar="ROLE",
        help="on the embedded database, run the functions' statements as ROLE (the role your "
        "migrations grant the tables to), so row-level security binds them as once deployed",
    )  # fmt: skip

    run = commands.add_parser(
        "invoke", parents=[common], help="invoke one function once, like `sam local invoke`"
    )
    run.add_argument("function", nargs="?", help="its logical id (optional if there is one)")
    run.add_argument("-e", "--event", metavar="FILE", help="event JSON file, or - for stdin")
    run.add_argument(
        "--repeat", type=_positive, default=1, metavar="N",
        help="invoke N times in the same sandbox: one cold start, then warm",
    )  # fmt: skip
    run.add_argument(
        "--token", metavar="JWT",
        help="the event's bearer token (its Authorization header), checked as the route's "
        "JWT authorizer would",
    )  # fmt: skip
    run.set_defaults(run=invoke)

    api = commands.add_parser(
        "serve", parents=[common], help="serve the HttpApi routes, like `sam local start-api`"
    )
    api.add_argument("-p", "--port", type=int, default=3000, help="default: %(default)s")
    api.add_argument("--host", default="127.0.0.1", help="default: %(default)s")
    sandboxes = api.add_mutually_exclusive_group()
    sandboxes.add_argument("--cold", action="store_true", help="a new sandbox for every request")
    sandboxes.add_argument(
        "--concurrency", type=_positive, default=1, metavar="N",
        help="up to N warm sandboxes (processes) per function serve requests in parallel, as "
        "Lambda Managed Instances run Python (default: 1, one request at a time)",
    )  # fmt: skip
    api.set_defaults(run=serve)

    tokens = commands.add_parser(
        "token", help=f"print a bearer token from the local issuer ({LOCAL_ISSUER})"
    )
    tokens.add_argument("--sub", required=True, help="the caller's id (the token's sub)")
    tokens.add_argument("--audience", default=LOCAL_AUDIENCE, help="default: %(default)s")
    tokens.add_argument(
        "--lifetime", type=_positive, default=3600, metavar="SECONDS",
        help="default: %(default)s",
    )  # fmt: skip
    tokens.add_argument(
        "--claim", action="append", metavar="NAME=VALUE", help="another claim (repeatable)"
    )
    tokens.add_argument("-t", "--template", default="template.yaml", help="default: %(default)s")
    tokens.set_defaults(run=token)

    db = commands.add_parser("db", help="the project's embedded PostgreSQL (.local/pgdata)")
    db.add_argument(
        "action", choices=["start", "stop", "status", "url", "migrate", "reset"],
        help="reset deletes the data and applies the migrations to an empty database",
    )  # fmt: skip
    db.add_argument("-t", "--template", default="template.yaml", help="default: %(default)s")
    db.set_defaults(run=database)

    scaffold = commands.add_parser(
        "resource", help="add a resource to the API: migration, declaration, routes, events, tests"
    )
    scaffold.add_argument("name", help="its table and path, plural: projects")
    scaffold.add_argument(
        "fields", nargs="*", metavar="FIELD",
        help="name:type, type one of str int float bool date datetime uuid json, or a list "
        "of one (str[]); a final ? makes it optional (it may be null): budget:int?",
    )  # fmt: skip
    scaffold.add_argument(
        "--owner", action=argparse.BooleanOptionalAction, default=None,
        help="rows belong to the caller: an owner column and row-level security (default: "
        "where the API runs each request as its caller, its module calling auth.install)",
    )  # fmt: skip
    scaffold.add_argument("-t", "--template", default="template.yaml", help="default: %(default)s")
    scaffold.set_defaults(run=resource)
    return parser
