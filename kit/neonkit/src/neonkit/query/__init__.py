"""The query builder: small, Knex-like, immutable, on `psycopg.sql`.

Why: SQL built from strings is open to injection

    db.all(f"SELECT * FROM todos WHERE title = '{title}'")             # never

while every builder method puts names through `sql.Identifier` and binds every value:

    from neonkit import db, table, raw
    todos = table("todos").select("id", "title")
    rows = db.all(todos.where("done", False).order_by("id").limit(20))
    row = db.one(table("todos").where("id", 7))                       # a dict or None
    n = db.execute(table("todos").where("id", 7).delete())           # rows affected
    sql, params = table("todos").where("id", ">", 5).build()         # Composed, list

Builders record plain immutable statements; a separate compiler turns them into SQL, cached
by shape. Misuse raises `neonkit.errors.QueryBuildError` naming the bad column, operator or
value.
"""

from __future__ import annotations

from ._compiler import Compiled
from ._conditions import OPERATORS, Conditions
from ._delete import DeleteQuery
from ._insert import InsertQuery, OnConflict
from ._raw import raw
from ._select import SelectQuery, UnionQuery, table
from ._statements import Raw
from ._stream import stream
from ._terms import alias, json_path, ref
from ._update import UpdateQuery

__all__ = [
    "OPERATORS",
    "Compiled",
    "Conditions",
    "DeleteQuery",
    "InsertQuery",
    "OnConflict",
    "Raw",
    "SelectQuery",
    "UnionQuery",
    "UpdateQuery",
    "alias",
    "json_path",
    "raw",
    "ref",
    "stream",
    "table",
]
