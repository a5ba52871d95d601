"""A declared resource end to end: the kit's fixture API in-process on a real database
(directly and through PgBouncer), a field of every type written, read, listed and changed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from localdev.testing import Handler, LambdaContext, load_handler
from neonkit import Database

from tests.kit.support.gadgets import TEMPLATE, create_table, event


@pytest.fixture(scope="module")
def gadgets_table(direct_url: str) -> None:
    create_table(direct_url)


@pytest.fixture
def api(db: Database, gadgets_table: None) -> Handler:
    db.execute("TRUNCATE gadgets RESTART IDENTITY")
    return load_handler("GadgetsFunction", template=TEMPLATE)


def call(api: Handler, *args: Any, **kwargs: Any) -> tuple[int, Any]:
    response = api(event(*args, **kwargs), LambdaContext())
    body = response.get("body") or ""
    return response["statusCode"], json.loads(body) if body else None


FULL = {
    "name": "Widget",
    "count": 3,
    "price": 9.5,
    "released": "2026-12-24",
    "seen_at": "2026-12-24T09:30:00+00:00",
    "serial": "12345678-1234-5678-1234-567812345678",
    "specs": {"size": [1, 2], "nested": {"ok": True}},
    "labels": ["new", "blue"],
}


def test_every_type_round_trips(api: Handler) -> None:
    status, created = call(api, "POST", "/gadgets", FULL)
    assert status == 201, created
    for name, value in FULL.items():
        if name == "seen_at":
            assert created[name] in ("2026-12-24T09:30:00Z", value)
        else:
            assert created[name] == value, name
    assert created["active"] is True  # the database's default, not given on create
    assert created["id"] == 1
    assert created["created_at"]
    assert call(api, "GET", "/gadgets/1") == (200, created)


def test_defaults_and_nulls(api: Handler) -> None:
    status, created = call(api, "POST", "/gadgets", {"name": "Plain", "count": 0})
    assert status == 201
    assert {
        k: created[k] for k in ("price", "released", "seen_at", "serial", "specs", "labels")
    } == {
        "price": None,
        "released": None,
        "seen_at": None,
        "serial": None,
        "specs": None,
        "labels": [],
    }


def test_a_patch_changes_only_what_it_names(api: Handler, db: Database) -> None:
    call(api, "POST", "/gadgets", FULL)
    status, changed = call(
        api, "PATCH", "/gadgets/1", {"active": False, "price": None, "specs": [1]}
    )
    assert status == 200, changed
    assert (changed["active"], changed["price"], changed["specs"]) == (False, None, [1])
    assert changed["labels"] == FULL["labels"]
    assert db.value("SELECT specs FROM gadgets") == [1]
    status, body = call(api, "PATCH", "/gadgets/1", {"name": None, "count": -1})
    assert status == 422
    assert {d["field"] for d in body["details"]} == {"name", "count"}
    assert call(api, "PATCH", "/gadgets/9", {"active": True})[0] == 404


def test_a_batch_is_all_or_nothing(api: Handler, db: Database) -> None:
    items = [{"name": f"g{i}", "count": i} for i in range(3)]
    status, body = call(api, "POST", "/gadgets/batch", items)
    assert status == 201
    assert [g["name"] for g in body["items"]] == ["g0", "g1", "g2"]
    status, body = call(api, "POST", "/gadgets/batch", [*items, {"name": "", "count": 1}])
    assert status == 422
    assert [d["field"] for d in body["details"]] == ["[3].name"]
    assert db.value("SELECT count(*) FROM gadgets") == 3


def test_lists_filter_sort_and_page(api: Handler) -> None:
    items: list[dict[str, Any]] = [
        {"name": f"n{i % 4}", "count": i % 3, "labels": ["odd" if i % 2 else "even"]}
        for i in range(11)
    ]
    call(api, "POST", "/gadgets/batch", items[:10])
    call(api, "POST", "/gadgets", items[10])
    call(api, "PATCH", "/gadgets/2", {"active": False})

    def ids(**query: str) -> list[int]:
        found: list[int] = []
        after = None
        while True:
            status, page = call(
                api,
                "GET",
                "/gadgets",
                query={**query, "limit": "3"} | ({"after": after} if after else {}),
            )
            assert status == 200, page
            found += [g["id"] for g in page["items"]]
            after = page["next"]
            if after is None:
                return found

    assert ids() == list(range(1, 12))
    assert ids(sort="-id") == list(range(11, 0, -1))
    assert ids(label="odd") == [2, 4, 6, 8, 10]
    assert ids(count="0", active="true") == [1, 4, 7, 10]
    by_name = ids(sort="name")
    assert sorted(by_name) == list(range(1, 12))
    names = [items[i - 1]["name"] for i in by_name]
    assert names == sorted(names)
    assert ids(sort="-created_at") == list(range(11, 0, -1))


def test_deleting(api: Handler) -> None:
    call(api, "POST", "/gadgets", FULL)
    assert call(api, "DELETE", "/gadgets/1") == (204, None)
    assert call(api, "DELETE", "/gadgets/1")[0] == 404
    assert call(api, "GET", "/gadgets/1")[0] == 404


def test_unknown_routes_and_methods_are_the_apis_json_404(api: Handler) -> None:
    for method, path in (("GET", "/nope"), ("PUT", "/gadgets/1"), ("POST", "/gadgets/1")):
        status, body = call(api, method, path, {"name": "x"})
        assert status == 404
        assert body["error"] == "not_found"


def test_the_openapi_document_is_served(api: Handler) -> None:
    status, document = call(api, "GET", "/openapi.json")
    assert status == 200
    assert document["info"]["title"] == "Gadgets"
    assert set(document["paths"]) == {
        "/openapi.json",
        "/gadgets",
        "/gadgets/batch",
        "/gadgets/{id}",
    }
