"""The todos API in-process: events from events/, a stub LambdaContext, a real database."""

from __future__ import annotations

import copy
import json
import threading
from typing import Any

import pytest
from localdev.testing import Handler, LambdaContext, load_event
from neonkit import Database


def call(handler: Handler, event: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    response = handler(event, LambdaContext())
    body = response.get("body") or ""
    return response["statusCode"], response.get("headers", {}), json.loads(body) if body else None


def request(
    method: str,
    path: str,
    body: Any = None,
    *,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    raw_body: str | None = None,
) -> dict[str, Any]:
    """An HTTP API v2 event built from a real sample, changed where the test says."""
    event = copy.deepcopy(load_event("todos_get_found"))
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["requestContext"]["http"]["method"] = method
    # As API Gateway sends it through the template's catch-all route
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    if query is not None:
        event["queryStringParameters"] = query
        event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    if raw_body is not None or body is not None:
        event["body"] = raw_body if raw_body is not None else json.dumps(body)
        event["headers"]["content-type"] = "application/json"
    event["headers"].update(headers or {})
    return event


def count(db: Database) -> int:
    return int(db.value("SELECT count(*) FROM todos"))


# -- the happy paths ----------------------------------------------------------------------


def test_create_get_update_list_delete(api: Handler, todos_db: Database) -> None:
    status, headers, created = call(api, load_event("todos_create_created"))
    assert status == 201
    assert created["title"] == "Buy milk"
    assert created["due"] == "2026-12-24"
    assert created["tags"] == ["home", "errands"]
    assert created["done"] is False
    assert headers["Location"] == f"/todos/{created['id']}"

    status, _, fetched = call(api, request("GET", f"/todos/{created['id']}"))
    assert (status, fetched) == (200, created)

    status, _, updated = call(api, request("PATCH", f"/todos/{created['id']}", {"done": True}))
    assert status == 200
    assert updated["done"] is True
    assert updated["completed_at"]
    assert updated["title"] == "Buy milk"  # untouched fields stay

    status, _, page = call(api, request("GET", "/todos"))
    assert status == 200
    assert [t["id"] for t in page["items"]] == [created["id"]]
    assert page["next"] is None

    status, _, _ = call(api, request("DELETE", f"/todos/{created['id']}"))
    assert status == 204
    assert call(api, request("GET", f"/todos/{created['id']}"))[0] == 404
    assert count(todos_db) == 0


def test_sql_looking_strings_are_stored_verbatim(api: Handler, todos_db: Database) -> None:
    event = load_event("todos_create_injection_created")
    sent = json.loads(event["body"])
    status, _, created = call(api, event)
    assert status == 201
    stored = todos_db.one("SELECT title, tags FROM todos WHERE id = %s", [created["id"]])
    assert stored == {"title": sent["title"], "tags": sent["tags"]}
    assert count(todos_db) == 1  # and the table is still there


def test_unicode_round_trips(api: Handler) -> None:
    event = load_event("todos_create_unicode_created")
    status, _, created = call(api, event)
    assert status == 201
    assert created["title"] == json.loads(event["body"])["title"]


def test_uncompleting_clears_completed_at(api: Handler) -> None:
    _, _, todo = call(api, request("POST", "/todos", {"title": "a"}))
    call(api, request("PATCH", f"/todos/{todo['id']}", {"done": True}))
    _, _, again = call(api, request("PATCH", f"/todos/{todo['id']}", {"done": False}))
    assert again["done"] is False
    assert again["completed_at"] is None


def test_due_can_be_cleared_with_null(api: Handler) -> None:
    _, _, todo = call(api, request("POST", "/todos", {"title": "a", "due": "2027-01-01"}))
    _, _, changed = call(api, request("PATCH", f"/todos/{todo['id']}", {"due": None}))
    assert changed["due"] is None


# -- idempotency --------------------------------------------------------------------------


def test_same_key_and_body_return_the_first_result(api: Handler, todos_db: Database) -> None:
    event = load_event("todos_create_idempotent_created")
    first = call(api, event)
    replay = call(api, copy.deepcopy(event))
    assert first[0] == replay[0] == 201
    assert replay[2] == first[2]
    assert replay[1].get("Idempotent-Replayed") == "true"
    assert count(todos_db) == 1


def test_same_key_with_another_body_is_refused(api: Handler, todos_db: Database) -> None:
    event = load_event("todos_create_idempotent_created")
    call(api, event)
    other = copy.deepcopy(event)
    other["body"] = json.dumps({"title": "something else"})
    status, _, body = call(api, other)
    assert status == 422
    assert body["details"][0]["field"] == "Idempotency-Key"
    assert count(todos_db) == 1


def test_a_replay_after_a_patch_returns_the_row_as_it_is_now(
    api: Handler, todos_db: Database
) -> None:
    # As README says: the key stays bound to its row, which a PATCH may have changed since.
    event = load_event("todos_create_idempotent_created")
    _, _, first = call(api, event)
    call(api, request("PATCH", f"/todos/{first['id']}", {"done": True}))
    status, headers, replay = call(api, copy.deepcopy(event))
    assert status == 201
    assert headers.get("Idempotent-Replayed") == "true"
    assert replay["id"] == first["id"]
    assert replay["done"] is True
    assert count(todos_db) == 1


def test_a_replay_after_a_delete_creates_the_todo_again(api: Handler, todos_db: Database) -> None:
    # As README says: deleting a todo frees its key; a replay then is a new create.
    event = load_event("todos_create_idempotent_created")
    _, _, first = call(api, event)
    call(api, request("DELETE", f"/todos/{first['id']}"))
    status, headers, again = call(api, copy.deepcopy(event))
    assert status == 201
    assert "Idempotent-Replayed" not in headers
    assert again["id"] != first["id"]
    assert count(todos_db) == 1


def test_an_echoed_lone_surrogate_is_escaped_in_valid_utf8(api: Handler) -> None:
    response = api(
        request("POST", "/todos", raw_body='{"\\ud800": 1, "title": "x"}'), LambdaContext()
    )
    assert response["statusCode"] == 422
    response["body"].encode("utf-8")  # the answer is valid UTF-8
    assert json.loads(response["body"])["details"] == [
        {"field": "\\ud800", "problem": "unknown field"}
    ]


def test_concurrent_replays_insert_one_row(
    api: Handler, todos_db: Database, database_url: str, settings: Any
) -> None:
    # GIVEN eight sandboxes sending the same keyed request at once, each with its own connection
    from neonkit import using

    event = load_event("todos_create_idempotent_created")
    statuses: list[int] = []

    def sandbox() -> None:
        with using(Database(database_url, settings=settings)) as own:
            statuses.append(call(api, copy.deepcopy(event))[0])
            own.close()

    threads = [threading.Thread(target=sandbox) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # THEN all succeeded, and one row exists
    assert statuses == [201] * 8
    assert count(todos_db) == 1


# -- batch --------------------------------------------------------------------------------


def test_batch_creates_all(api: Handler, todos_db: Database) -> None:
    status, _, body = call(api, load_event("todos_batch_created"))
    assert status == 201
    assert len(body["items"]) == 3
    assert count(todos_db) == 3


def test_batch_with_one_bad_item_writes_nothing(api: Handler, todos_db: Database) -> None:
    status, _, body = call(api, load_event("todos_batch_invalid"))
    assert status == 422
    fields = {d["field"] for d in body["details"]}
    assert fields == {"[1].title", "[2].title", "[2].due"}
    assert count(todos_db) == 0


def test_batch_limits(api: Handler) -> None:
    assert call(api, request("POST", "/todos/batch", []))[0] == 422
    assert call(api, request("POST", "/todos/batch", [{"title": "x"}] * 101))[0] == 422
    assert call(api, request("POST", "/todos/batch", {"title": "x"}))[0] == 422


# -- listing ------------------------------------------------------------------------------


@pytest.mark.parametrize("sort", ["id", "-id", "created_at", "-created_at"])
def test_keyset_pages_cover_every_row_once(api: Handler, sort: str) -> None:
    call(api, request("POST", "/todos/batch", [{"title": f"t{i}"} for i in range(23)]))
    seen: list[int] = []
    after: str | None = None
    pages = 0
    while True:
        query = {"limit": "5", "sort": sort} | ({"after": after} if after else {})
        status, _, page = call(api, request("GET", "/todos", query=query))
        assert status == 200
        seen += [item["id"] for item in page["items"]]
        pages += 1
        after = page["next"]
        if after is None:
            break
    assert pages == 5
    assert sorted(seen) == list(range(1, 24))
    assert len(set(seen)) == 23
    assert seen == sorted(seen, reverse=sort.startswith("-"))


def test_filters(api: Handler) -> None:
    call(api, request("POST", "/todos/batch", [
        {"title": "a", "tags": ["home"]},
        {"title": "b", "tags": ["work"]},
        {"title": "c", "tags": ["home"]},
    ]))  # fmt: skip
    call(api, request("PATCH", "/todos/3", {"done": True}))
    _, _, home = call(api, request("GET", "/todos", query={"tag": "home"}))
    assert [t["title"] for t in home["items"]] == ["a", "c"]
    _, _, open_home = call(api, request("GET", "/todos", query={"tag": "home", "done": "false"}))
    assert [t["title"] for t in open_home["items"]] == ["a"]


@pytest.mark.parametrize("limit", ["101", "1000", "1000000000", "9" * 30, "9" * 5000])
def test_a_limit_above_100_is_capped_not_refused(api: Handler, limit: str) -> None:
    # As README says: any positive integer, capped at 100.
    call(api, request("POST", "/todos/batch", [{"title": f"t{i}"} for i in range(100)]))
    call(api, request("POST", "/todos/batch", [{"title": f"u{i}"} for i in range(5)]))
    status, _, page = call(api, request("GET", "/todos", query={"limit": limit}))
    assert status == 200
    assert len(page["items"]) == 100
    assert page["next"]


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "0"},
        {"limit": "-1"},
        {"limit": "1.5"},
        {"done": "yes"},
        {"sort": "title"},
        {"sort": "id; DROP TABLE todos"},
        {"after": "not-a-cursor"},
        {"after": "WyJpZCIsICIxIE9SIDE9MSIsIDVd"},  # ["id", "1 OR 1=1", 5]
        {"colour": "red"},
        {"tag": "x" * 51},
    ],
)
def test_bad_query_strings_are_422(api: Handler, query: dict[str, str]) -> None:
    status, _, body = call(api, request("GET", "/todos", query=query))
    assert status == 422
    assert body["error"] == "validation_failed"
    assert body["details"]


# -- bad input through every route ----------------------------------------------------------

BODY_ROUTES = [("POST", "/todos"), ("POST", "/todos/batch"), ("PATCH", "/todos/1")]


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
@pytest.mark.parametrize(
    ("raw_body", "status"),
    [
        ('{"title": ', 400),
        ("not json at all", 400),
        ("", 400),
        ('{"title": NaN}', 400),
        ("[" * 5000 + "]" * 5000, 400),
        ('{"title": ' + "1" * 5000 + "}", 400),
        ('{"title": "\\ud800"}', 422),
        ('{"title": "a\\u0000b"}', 422),
        ('{"title": 12}', 422),
        ('{"title": "x", "due": "2027-13-45"}', 422),
        ('{"title": ["list"]}', 422),
        ("null", 422),
        ("42", 422),
    ],
)
def test_bad_bodies(
    api: Handler, todos_db: Database, method: str, path: str, raw_body: str, status: int
) -> None:
    call(api, request("POST", "/todos", {"title": "existing"}))
    got, _, body = call(api, request(method, path, raw_body=raw_body))
    assert got == status, body
    assert body["error"]
    assert body["message"]
    assert count(todos_db) == 1
    assert todos_db.value("SELECT title FROM todos") == "existing"


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_bodies_over_the_limit_are_413(api: Handler, method: str, path: str) -> None:
    status, _, body = call(
        api, request(method, path, raw_body=json.dumps({"title": "x" * 300_000}))
    )
    assert status == 413
    assert "limit" in body["message"]


@pytest.mark.parametrize(
    "path", ["/todos/abc", "/todos/0", "/todos/-5", "/todos/99999999999999999999", "/todos/1.5"]
)
@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
def test_bad_ids_are_422(api: Handler, method: str, path: str) -> None:
    status, _, body = call(api, request(method, path, {"done": True}))
    assert status == 422
    assert body["details"][0]["field"] == "id"


def test_unknown_routes_are_json_404(api: Handler) -> None:
    status, _, body = call(api, load_event("route_unknown_missing"))
    assert status == 404
    assert body["error"] == "not_found"
    assert call(api, request("PUT", "/todos/1", {"title": "x"}))[0] == 404


def test_no_transaction_is_left_open(api: Handler, todos_db: Database, raw: Any) -> None:
    for name in ("todos_create_created", "todos_batch_invalid", "todos_create_malformed"):
        call(api, load_event(name))
        assert todos_db.connection is not None
        assert todos_db.connection.info.transaction_status == 0  # IDLE
    open_ones = raw.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'"
        " AND datname = current_database()"
    ).fetchone()[0]
    assert open_ones == 0


def test_error_bodies_show_no_internals(api: Handler) -> None:
    for event in (
        request("POST", "/todos", raw_body="{bad"),
        request("GET", "/todos/abc"),
        request("GET", "/todos", query={"sort": "x'; --"}),
        request("POST", "/todos/batch", [{"title": "\x00"}]),
    ):
        response = api(event, LambdaContext())
        text = response["body"]
        for leak in ("Traceback", "psycopg", "SELECT", "INSERT", "todos_pkey", 'File "'):
            assert leak not in text
        assert json.loads(text)["request_id"] == LambdaContext().aws_request_id
