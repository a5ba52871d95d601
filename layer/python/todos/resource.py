"""What a todo is: its fields, their types and limits, declared once.

From this declaration come the API's request validation, the rows it writes, the JSON it
answers and the OpenAPI schemas (`neonkit.resources`).
"""

from __future__ import annotations

from datetime import date, datetime

from neonkit.resources import Resource, field


class Todo(Resource, table="todos"):
    """Something to do."""

    id: int = field(read_only=True)
    title: str = field(max_length=500, blank=False)
    done: bool = field(default=False, create=False, filter=True)
    due: date | None = None
    tags: list[str] = field(default=[], max_items=20, max_length=50, unique=True, filter="tag")
    created_at: datetime = field(read_only=True, sort=True)
    updated_at: datetime = field(read_only=True)
    completed_at: datetime | None = field(read_only=True)
