"""Every statement the todos functions run: each is one statement, so one round trip.

Whose rows: PostgreSQL's (row-level security, migrations/0002): each statement runs as the
request's caller (`neonkit.auth`), sees only that caller's rows, and a new row's `owner` is
the caller. No statement here names the owner, and none needs to.
"""

from __future__ import annotations

from typing import Any

from neonkit import ValidationError, db, table
from neonkit.resources import ListQuery

from .resource import Todo

COLUMNS = Todo.columns
todos = table(Todo.table_name)
# A client's Idempotency-Key is stored under this prefix, and the importer's keys under
# 'sqs:': no client input can name an internal key (or learn that one exists).
HTTP_KEY_PREFIX = "http:"

# Claiming the key and inserting are one statement: a replay (even a concurrent one) returns
# the row the key first created. Keys are per owner: another user's same key is another row.
# `xmax = 0` tells a fresh insert from the conflict's no-op update.
_CREATE_ONCE = """
INSERT INTO todos (title, due, tags, idempotency_key, request_hash)
VALUES (%(title)s, %(due)s, %(tags)s, %(key)s, %(hash)s)
ON CONFLICT (owner, idempotency_key) DO UPDATE SET idempotency_key = EXCLUDED.idempotency_key
RETURNING id, title, done, due, tags, created_at, updated_at, completed_at, request_hash,
          (xmax = 0) AS created
"""

# One shape for every PATCH: unchanged fields keep their value; completing sets completed_at.
_UPDATE = """
UPDATE todos SET
    title = CASE WHEN %(set_title)s THEN %(title)s ELSE title END,
    done = CASE WHEN %(set_done)s THEN %(done)s ELSE done END,
    due = CASE WHEN %(set_due)s THEN %(due)s::date ELSE due END,
    tags = CASE WHEN %(set_tags)s THEN %(tags)s::text[] ELSE tags END,
    completed_at = CASE
        WHEN NOT %(set_done)s THEN completed_at
        WHEN %(done)s THEN coalesce(completed_at, now())
    END,
    updated_at = now()
WHERE id = %(id)s
RETURNING id, title, done, due, tags, created_at, updated_at, completed_at
"""


def create(todo: dict[str, Any], key: str | None = None) -> tuple[dict[str, Any], bool]:
    """Insert a todo (a row from `Todo.New.parse`); with an idempotency key, a replay returns
    the row the key created, as it is now. (row, created)"""
    if key is None:
        row = db.one(todos.insert(todo).returning(*COLUMNS))
        assert row is not None
        return row, True
    fingerprint = Todo.fingerprint(todo)
    row = db.one(_CREATE_ONCE, {**todo, "key": HTTP_KEY_PREFIX + key, "hash": fingerprint})
    assert row is not None
    if row.pop("request_hash") != fingerprint:
        raise ValidationError(
            "this Idempotency-Key was already used with a different body",
            details=[{"field": "Idempotency-Key", "problem": "reused with another request"}],
        )
    return row, bool(row.pop("created"))


def create_many(new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """All rows or none: one multi-row INSERT is atomic on its own."""
    return db.all(todos.insert(new).returning(*COLUMNS))


def get(todo_id: int) -> dict[str, Any] | None:
    return db.one(todos.select(*COLUMNS).where("id", todo_id))


def page(query: ListQuery) -> list[dict[str, Any]]:
    """One page, plus one row more than asked, to know whether there is a next page."""
    return db.all(query.apply(todos.select(*COLUMNS)))


def update(todo_id: int, changes: dict[str, Any]) -> dict[str, Any] | None:
    params: dict[str, Any] = {"id": todo_id}
    for field in ("title", "done", "due", "tags"):
        params[f"set_{field}"] = field in changes
        params[field] = changes.get(field)
    return db.one(_UPDATE, params)


def delete(todo_id: int) -> bool:
    return db.execute(todos.where("id", todo_id).delete()) == 1
