"""The deployed HTTP API over HTTPS: every route, a batch, a validation error."""

from __future__ import annotations

import uuid

from tests.todos.e2e.conftest import Api, needs_stack

pytestmark = needs_stack


def test_create_get_list_update_delete(api: Api, tag: str) -> None:
    # create
    created = api.call(
        "POST", "/todos", {"title": "Deployed todo", "due": "2026-12-24", "tags": [tag]}
    )
    assert created.status == 201, created.body
    todo = created.body
    assert created.headers["location"] == f"/todos/{todo['id']}"
    assert (todo["title"], todo["due"], todo["tags"], todo["done"]) == (
        "Deployed todo", "2026-12-24", [tag], False,
    )  # fmt: skip

    # get
    fetched = api.call("GET", f"/todos/{todo['id']}")
    assert (fetched.status, fetched.body) == (200, todo)

    # list, filtered to this test's tag
    listed = api.call("GET", f"/todos?tag={tag}")
    assert listed.status == 200
    assert [t["id"] for t in listed.body["items"]] == [todo["id"]]

    # update
    updated = api.call("PATCH", f"/todos/{todo['id']}", {"done": True})
    assert updated.status == 200
    assert updated.body["done"] is True
    assert updated.body["completed_at"]

    # delete
    assert api.call("DELETE", f"/todos/{todo['id']}").status == 204
    missing = api.call("GET", f"/todos/{todo['id']}")
    assert missing.status == 404
    assert missing.body["error"] == "not_found"


def test_a_batch_is_created_at_once(api: Api, tag: str) -> None:
    batch = [{"title": f"Batch item {n}", "tags": [tag]} for n in range(3)]

    created = api.call("POST", "/todos/batch", batch)

    assert created.status == 201, created.body
    assert [t["title"] for t in created.body["items"]] == [t["title"] for t in batch]
    for todo in created.body["items"]:
        assert api.call("DELETE", f"/todos/{todo['id']}").status == 204


def test_an_invalid_todo_is_a_422_naming_its_fields(api: Api) -> None:
    reply = api.call("POST", "/todos", {"title": "", "due": "someday", "colour": "red"})

    assert reply.status == 422
    assert reply.body["error"] == "validation_failed"
    fields = {detail["field"] for detail in reply.body["details"]}
    assert fields == {"title", "due", "colour"}
    assert "Traceback" not in str(reply.body)


def test_a_replayed_create_returns_the_first_todo(api: Api, tag: str) -> None:
    key = {"Idempotency-Key": f"e2e-{uuid.uuid4()}"}
    first = api.call("POST", "/todos", {"title": "Only once", "tags": [tag]}, key)
    again = api.call("POST", "/todos", {"title": "Only once", "tags": [tag]}, key)

    assert (first.status, again.status) == (201, 201)
    assert again.body["id"] == first.body["id"]
    assert again.headers.get("idempotent-replayed") == "true"
    api.call("DELETE", f"/todos/{first.body['id']}")


def test_an_unknown_route_is_the_apis_json_404(api: Api) -> None:
    # The template's catch-all sends every path to the function: its resolver answers.
    reply = api.call("GET", "/no/such/route")

    assert reply.status == 404
    assert reply.body["error"] == "not_found"


def test_the_openapi_document_is_served(api: Api) -> None:
    reply = api.call("GET", "/openapi.json")

    assert reply.status == 200
    assert "/todos/{id}" in reply.body["paths"]


def test_health_answers_without_a_token(api: Api) -> None:
    reply = api.call("GET", "/health")
    assert (reply.status, reply.body) == (200, {"status": "ok"})
