"""Whose rows: each todo belongs to its caller, and PostgreSQL keeps callers apart.

The handler runs as it does deployed: logged in as `app_runtime` (migrations/0002), each
request's statements run as the caller the gateway verified (`neonkit.auth`). The claims are
in the events, as API Gateway's JWT authorizer passes them; tokens themselves are checked by
API Gateway (and by `localdev serve`: tests/todos/test_todos_served_auth.py).
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from localdev.testing import Handler, LambdaContext, PgBouncer, load_event, require_pgbouncer
from neonkit import Database, DatabaseError, InvalidDataError, Settings, auth, using
from openapi_spec_validator import validate

from tests.kit.support.proxy import FaultProxy
from tests.todos.test_todos_api import call, count, request

ALICE, BOB = "alice-0001", "bob-0002"


def by(caller: str | None, event: dict[str, Any]) -> dict[str, Any]:
    """The event as API Gateway sends it for `caller` (None: no authorizer ran)."""
    event = copy.deepcopy(event)
    if caller is None:
        event["requestContext"].pop("authorizer", None)
    else:
        claims = {"sub": caller, "iss": "https://auth.example.com/", "aud": "todos-api"}
        event["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return event


def create(api: Handler, caller: str, title: str) -> dict[str, Any]:
    status, _, todo = call(api, by(caller, request("POST", "/todos", {"title": title})))
    assert status == 201, todo
    return todo  # type: ignore[no-any-return]


def row(todos_db: Database, todo_id: int) -> dict[str, Any] | None:
    return todos_db.one("SELECT owner, title, done FROM todos WHERE id = %s", [todo_id])


# -- isolation through the API ----------------------------------------------------------------


def test_a_todo_belongs_to_its_caller(api: Handler, todos_db: Database) -> None:
    todo = create(api, ALICE, "alice's")
    assert row(todos_db, todo["id"]) == {"owner": ALICE, "title": "alice's", "done": False}
    assert "owner" not in todo  # the caller knows who they are


def test_one_user_cannot_read_list_change_or_delete_anothers_todo(
    api: Handler, todos_db: Database
) -> None:
    # GIVEN a todo of Bob's
    bobs = create(api, BOB, "bob's")
    path = f"/todos/{bobs['id']}"

    # WHEN Alice asks for it, changes it, deletes it: THEN there is no such todo for her
    assert call(api, by(ALICE, request("GET", path)))[0] == 404
    assert call(api, by(ALICE, request("PATCH", path, {"done": True, "title": "x"})))[0] == 404
    assert call(api, by(ALICE, request("DELETE", path)))[0] == 404
    assert call(api, by(ALICE, request("GET", "/todos")))[2] == {"items": [], "next": None}

    # AND Bob's todo is unchanged, and still his
    assert row(todos_db, bobs["id"]) == {"owner": BOB, "title": "bob's", "done": False}
    assert call(api, by(BOB, request("GET", path)))[2] == bobs


def test_each_user_lists_only_their_own(api: Handler) -> None:
    mine = [create(api, ALICE, f"a{i}")["id"] for i in range(3)]
    create(api, BOB, "b")
    listed = call(api, by(ALICE, request("GET", "/todos", query={"limit": "100"})))[2]
    assert [t["id"] for t in listed["items"]] == mine


def test_without_an_issuer_callers_without_a_token_share_the_anonymous_rows(
    api: Handler, todos_db: Database
) -> None:
    todo = create(api, ALICE, "alice's")
    status, _, anonymous = call(api, by(None, request("POST", "/todos", {"title": "anyone's"})))
    assert status == 201
    assert row(todos_db, anonymous["id"])["owner"] == auth.ANONYMOUS  # type: ignore[index]
    assert call(api, by(None, request("GET", f"/todos/{todo['id']}")))[0] == 404
    listed = call(api, by(None, request("GET", "/todos")))[2]
    assert [t["id"] for t in listed["items"]] == [anonymous["id"]]


# -- the database itself keeps them apart ------------------------------------------------------


@pytest.fixture
def two_users(app_db: Database, todos_db: Database) -> Database:
    """Two todos of Alice's (one done), one of Bob's, written as each of them."""
    for caller, title, done in ((ALICE, "a1", False), (ALICE, "a2", True), (BOB, "b1", False)):
        with app_db.as_user(caller):
            app_db.execute("INSERT INTO todos (title, done) VALUES (%s, %s)", [title, done])
    return app_db


def test_a_raw_select_with_alices_identity_returns_only_her_rows(two_users: Database) -> None:
    with two_users.as_user(ALICE):
        rows = two_users.all("SELECT * FROM todos ORDER BY id")
    assert [(r["owner"], r["title"]) for r in rows] == [(ALICE, "a1"), (ALICE, "a2")]


def test_a_statement_that_forgets_its_filter_touches_only_the_callers_rows(
    two_users: Database, todos_db: Database
) -> None:
    with two_users.as_user(BOB):
        assert two_users.execute("UPDATE todos SET title = 'mine now'") == 1
        assert two_users.execute("DELETE FROM todos WHERE done") == 0
    assert todos_db.value("SELECT count(*) FROM todos WHERE title = 'mine now'") == 1
    assert count(todos_db) == 3


def test_no_one_can_write_a_row_for_someone_else(two_users: Database) -> None:
    with two_users.as_user(ALICE), pytest.raises(DatabaseError, match="row-level security"):
        two_users.execute("INSERT INTO todos (title, owner) VALUES ('x', %s)", [BOB])
    with two_users.as_user(ALICE), pytest.raises(DatabaseError, match="row-level security"):
        two_users.execute("UPDATE todos SET owner = %s", [BOB])


def test_without_an_identity_the_functions_role_sees_and_writes_nothing(
    two_users: Database,
) -> None:
    assert two_users.all("SELECT * FROM todos") == []
    assert two_users.execute("DELETE FROM todos") == 0
    with pytest.raises(InvalidDataError):  # owner would be NULL (or '' on a seasoned connection)
        two_users.execute("INSERT INTO todos (title) VALUES ('nobody''s')")


def test_the_functions_role_cannot_bypass_row_level_security(app_db: Database) -> None:
    role = app_db.one(
        "SELECT rolname, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )
    assert role == {"rolname": "app_runtime", "rolsuper": False, "rolbypassrls": False}
    forced = app_db.one(
        "SELECT relrowsecurity, relforcerowsecurity FROM pg_class WHERE oid = 'todos'::regclass"
    )
    assert forced == {"relrowsecurity": True, "relforcerowsecurity": True}


def test_the_purge_sees_completed_todos_of_everyone_and_writes_nothing(
    two_users: Database,
) -> None:
    with two_users.transaction() as tx:
        tx.execute("SELECT set_config('todos.purge', 'on', true)")
        assert [r["title"] for r in tx.all("SELECT title FROM todos ORDER BY id")] == ["a2"]
        with pytest.raises(DatabaseError, match="row-level security"), tx.savepoint():
            tx.execute("UPDATE todos SET done = false")  # WITH CHECK (false)
        with pytest.raises(DatabaseError, match="row-level security"), tx.savepoint():
            tx.execute("INSERT INTO todos (title, owner) VALUES ('x', 'anyone')")


# -- idempotency keys: per user, and never an internal key ---------------------------------------


def test_another_user_reusing_a_key_gets_their_own_row(api: Handler, todos_db: Database) -> None:
    event = request("POST", "/todos", {"title": "same"}, headers={"idempotency-key": "k-1"})
    alices = call(api, by(ALICE, event))
    bobs = call(api, by(BOB, event))
    assert alices[0] == bobs[0] == 201
    assert "Idempotent-Replayed" not in bobs[1]  # Bob learns nothing of Alice's
    assert bobs[2]["id"] != alices[2]["id"]
    # and each one's replay finds their own
    assert call(api, by(ALICE, event))[2] == alices[2]
    assert call(api, by(BOB, event))[1].get("Idempotent-Replayed") == "true"
    assert count(todos_db) == 2


@pytest.fixture
def import_todos(lambda_env: None, app_db: Database, monkeypatch: pytest.MonkeyPatch) -> Handler:
    from localdev.testing import load_handler

    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "TodosImportFunction")
    return load_handler("TodosImportFunction")


def test_a_client_key_can_never_be_an_import_key(
    api: Handler, import_todos: Handler, todos_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    batch = load_event("todos_import_batch")
    message_id = batch["Records"][0]["messageId"]
    # GIVEN a client that sends the key the importer would use for a message
    sneaky = request(
        "POST", "/todos", {"title": "x"}, headers={"idempotency-key": f"sqs:{message_id}"}
    )
    assert call(api, by(None, sneaky))[0] == 201
    # WHEN that message is imported (for the same, anonymous, owner)
    assert import_todos(batch, LambdaContext())["batchItemFailures"] == []
    # THEN it is stored all the same: the two keys live apart
    keys = {r["idempotency_key"] for r in todos_db.all("SELECT idempotency_key FROM todos")}
    assert {f"http:sqs:{message_id}", f"sqs:{message_id}"} <= keys
    # AND the other way round, a client learns nothing of which message ids exist
    other = batch["Records"][1]["messageId"]
    probe = request("POST", "/todos", {"title": "y"}, headers={"idempotency-key": f"sqs:{other}"})
    status, headers, _ = call(api, by(None, probe))
    assert status == 201
    assert "Idempotent-Replayed" not in headers


def test_the_importer_stores_each_message_for_its_owner(
    import_todos: Handler, todos_db: Database
) -> None:
    batch = copy.deepcopy(load_event("todos_import_batch"))
    attribute = {
        "stringValue": ALICE,
        "stringListValues": [],
        "binaryListValues": [],
        "dataType": "String",
    }
    batch["Records"][0]["messageAttributes"] = {"owner": attribute}
    batch["Records"][1]["messageAttributes"] = {"owner": {**attribute, "stringValue": BOB}}
    batch["Records"][2]["messageAttributes"] = {"owner": {**attribute, "dataType": "Number"}}

    response = import_todos(batch, LambdaContext())

    assert [f["itemIdentifier"] for f in response["batchItemFailures"]] == [
        batch["Records"][2]["messageId"]
    ]
    owners = todos_db.all("SELECT owner, title FROM todos ORDER BY owner")
    assert [(r["owner"], r["title"]) for r in owners] == [
        (ALICE, "Renew passport"),
        (BOB, "Book dentist"),
    ]


# -- with an issuer configured --------------------------------------------------------------------


@pytest.fixture
def secured_api(lambda_env: None, app_db: Database, monkeypatch: pytest.MonkeyPatch) -> Handler:
    """The API as deployed with AuthIssuer set (the template passes NEONKIT_AUTH_ISSUER)."""
    from localdev.testing import load_handler

    monkeypatch.setenv("NEONKIT_AUTH_ISSUER", "https://auth.example.com/")
    return load_handler("ApiFunction")


@pytest.fixture
def proxy(app_url: str, settings: Settings, todos_db: Database) -> Iterator[FaultProxy]:
    """The functions' database through a FaultProxy counting round trips, warm."""
    params = psycopg.conninfo.conninfo_to_dict(app_url)
    with FaultProxy(str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432)) as p:
        params.update(host="127.0.0.1", port=str(p.port))
        database = Database(psycopg.conninfo.make_conninfo("", **params), settings=settings)
        with using(database):
            database.ping()
            yield p
        database.close()


def flights(proxy: FaultProxy, handler: Handler, event: dict[str, Any]) -> tuple[int, int]:
    before = proxy.flights
    status = handler(event, LambdaContext())["statusCode"]
    return status, proxy.flights - before


def test_without_claims_a_secured_api_answers_401_and_sends_no_statement(
    secured_api: Handler, proxy: FaultProxy, todos_db: Database
) -> None:
    for event in (
        request("GET", "/todos"),
        request("POST", "/todos", {"title": "x"}),
        request("DELETE", "/todos/1"),
        by(None, load_event("route_unknown_missing")),
    ):
        assert flights(proxy, secured_api, by(None, event)) == (401, 0)
    assert count(todos_db) == 0
    # the OpenAPI document stays public
    assert flights(proxy, secured_api, load_event("openapi_get")) == (200, 0)


def test_a_secured_apis_document_says_which_routes_need_a_bearer_token(
    secured_api: Handler,
) -> None:
    status, _, document = call(secured_api, load_event("openapi_get"))
    assert status == 200
    validate(document)
    scheme = document["components"]["securitySchemes"]["bearer"]
    assert (scheme["type"], scheme["scheme"], scheme["bearerFormat"]) == ("http", "bearer", "JWT")
    assert "https://auth.example.com/" in scheme["description"]
    assert document["security"] == [{"bearer": []}]
    operations = [
        (path, method, operation)
        for path, methods in document["paths"].items()
        for method, operation in methods.items()
    ]
    public = {("/openapi.json", "get"), ("/health", "get")}
    assert public <= {(path, method) for path, method, _ in operations}
    for path, method, operation in operations:
        if (path, method) in public:
            assert operation["security"] == []  # public: no token, no 401
            assert "401" not in operation["responses"]
        else:
            assert "security" not in operation, (method, path)  # the document's default
            assert "401" in operation["responses"], (method, path)


def test_an_open_apis_document_asks_for_no_token(api: Handler) -> None:
    _, _, document = call(api, load_event("openapi_get"))
    assert "security" not in document
    assert "securitySchemes" not in document["components"]
    assert all(
        "401" not in operation["responses"]
        for methods in document["paths"].values()
        for operation in methods.values()
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/todos", {"title": "x"}, 201),
        ("GET", "/todos", None, 200),
        ("GET", "/todos/{id}", None, 200),
        ("PATCH", "/todos/{id}", {"done": True}, 200),
        ("DELETE", "/todos/{id}", None, 204),
    ],
)
def test_an_authenticated_warm_request_is_one_round_trip(
    secured_api: Handler,
    proxy: FaultProxy,
    todos_db: Database,
    method: str,
    path: str,
    body: Any,
    status: int,
) -> None:
    with todos_db.as_user(ALICE):
        todo_id = todos_db.value("INSERT INTO todos (title) VALUES ('t') RETURNING id")
    event = by(ALICE, request(method, path.format(id=todo_id), body))
    assert flights(proxy, secured_api, event) == (status, 1)
    assert proxy.accepted == 1  # the warm connection, no new one


# -- through a real PgBouncer, on one server connection ------------------------------------------


def test_two_users_interleaved_on_one_pooled_connection_never_see_each_other(
    lambda_env: None, app_direct_url: str, settings: Settings, todos_db: Database
) -> None:
    # GIVEN PgBouncer in transaction mode with one server connection for both users' sandboxes
    from dataclasses import replace

    from localdev.testing import load_handler

    with PgBouncer(app_direct_url, pool_size=1, binary=require_pgbouncer()) as bouncer:
        errors: list[str] = []
        start = threading.Barrier(2)

        def sandbox(caller: str) -> None:
            database = Database(bouncer.url, settings=replace(settings, pooled=True))
            with using(database):
                handler = load_handler("ApiFunction")
                start.wait()
                mine: list[int] = []
                for i in range(15):
                    status, _, todo = call(
                        handler, by(caller, request("POST", "/todos", {"title": f"{caller} {i}"}))
                    )
                    mine.append(todo["id"])
                    _, _, page = call(
                        handler, by(caller, request("GET", "/todos", query={"limit": "100"}))
                    )
                    seen = [t["id"] for t in page["items"]]
                    if status != 201 or seen != mine:
                        errors.append(f"{caller} saw {seen}, owns {mine}")
                    who = database.value("SELECT current_setting('neonkit.user_id', true)")
                    if who not in (None, ""):
                        errors.append(f"{caller}'s sandbox outside a request is {who!r}")
            database.close()

        threads = [threading.Thread(target=sandbox, args=(c,)) for c in (ALICE, BOB)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        # THEN both ran through the one server process, and neither saw the other
        assert errors == []
        with psycopg.connect(bouncer.console_url, autocommit=True) as console:
            assert len(console.execute("SHOW SERVERS").fetchall()) == 1
    owners = todos_db.all("SELECT owner, count(*) AS n FROM todos GROUP BY owner ORDER BY owner")
    assert owners == [{"owner": ALICE, "n": 15}, {"owner": BOB, "n": 15}]
