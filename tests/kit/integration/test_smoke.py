"""The kit's fixture app end to end: every event file gets its documented answer through the
real handler, on both paths (straight to PostgreSQL and through PgBouncer)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from localdev.testing import Handler, LambdaContext
from neonkit import Database

from tests.kit.support import app

STATUSES = {  # what an event file's name promises
    "_delete_found": 204,
    "_created": 201,
    "_found": 200,
    "_list": 200,
    "_missing": 404,
    "_invalid": 422,
    "_malformed": 400,
}


def expected_status(name: str) -> int:
    return next(status for suffix, status in STATUSES.items() if name.endswith(suffix))


def call(handler: Handler, event: dict[str, Any]) -> tuple[int, dict[str, str], Any]:
    response = handler(event, LambdaContext())
    text = response.get("body") or ""
    return response["statusCode"], response.get("headers") or {}, json.loads(text) if text else None


@pytest.mark.parametrize("name", app.http_events())
def test_every_event_gets_its_documented_answer(
    name: str, notes_api: Handler, notes_db: Database
) -> None:
    # GIVEN note 1 exists (the _found events point at it)
    notes_db.execute("INSERT INTO notes (title) VALUES ('the first note')")
    # WHEN the event is served, THEN the status is the one its name promises, as JSON
    status, _, body = call(notes_api, app.event(name))
    assert status == expected_status(name), body
    if status >= 400:
        assert body["error"]
        assert body["message"]
        assert "Traceback" not in json.dumps(body)


def test_a_note_lives_and_dies(notes_api: Handler, notes_db: Database) -> None:
    status, headers, made = call(notes_api, app.event("notes_create_created"))
    assert status == 201
    assert headers["Location"] == f"/notes/{made['id']}"
    assert call(notes_api, app.event("notes_get_found", note_id=made["id"]))[2] == made
    changed = call(notes_api, app.event("notes_update_found", note_id=made["id"]))[2]
    assert (changed["title"], changed["body"]) == ("Buy oat milk", made["body"])
    assert call(notes_api, app.event("notes_delete_found", note_id=made["id"]))[0] == 204
    assert call(notes_api, app.event("notes_get_found", note_id=made["id"]))[0] == 404


def test_a_keyed_create_replays_its_first_answer(notes_api: Handler, notes_db: Database) -> None:
    first = call(notes_api, app.event("notes_create_idempotent_created", key="k-1"))
    replay = call(notes_api, app.event("notes_create_idempotent_created", key="k-1"))
    assert (first[0], replay[0]) == (201, 201)
    assert replay[2] == first[2]
    assert replay[1].get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first[1]
    other = call(
        notes_api, app.event("notes_create_idempotent_created", key="k-1", body={"title": "x"})
    )
    assert other[0] == 422
    assert notes_db.value("SELECT count(*) FROM notes") == 1


def test_pages_walk_every_note_once(notes_api: Handler, notes_db: Database) -> None:
    notes_db.execute("INSERT INTO notes (title) SELECT 'n' || i FROM generate_series(1, 7) i")
    seen: list[int] = []
    query = "limit=3"
    while True:
        event = app.event("notes_list")
        event["rawQueryString"] = query
        event["queryStringParameters"] = dict(p.split("=") for p in query.split("&"))
        status, _, page = call(notes_api, event)
        assert status == 200
        seen += [item["id"] for item in page["items"]]
        if page["next"] is None:
            break
        query = f"limit=3&after={page['next']}"
    assert seen == list(range(1, 8))
