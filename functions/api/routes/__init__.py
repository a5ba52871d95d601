"""The API's routes: a module per resource, each adding its routes to the API.

`make resource` writes a new module here and adds its two lines below; a module you write by
hand is added the same way.
"""

from __future__ import annotations

from neonkit import http

from .todos import add_todos_routes


def add_routes(api: http.Api) -> None:
    """Every route of the API, added once, when the function starts (app.py calls it)."""
    add_todos_routes(api)
