"""Which function an event file of `events/` belongs to, and the order to run them in.

An HTTP API event (payload 2.0) goes to the function API Gateway would route it to: the one
whose route has its `routeKey`, else the route that matches its method and path (a catch-all
`ANY /{proxy+}` included), else the API's only function. Any other event is named for its
function's folder: `todos_import_batch.json` goes to the function whose CodeUri is
`functions/todos_import/` (the longest folder name that begins the file name). Files are
named `<resource>_<action>_<outcome>.json`; run in order, the events that create rows come
first and deletes last, so that `*_found` events find what the creates made.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ._errors import TemplateError
from ._routes import Router
from ._template import Function

__all__ = ["function_for_event", "in_running_order", "is_http_event"]


def is_http_event(event: Any) -> bool:
    return isinstance(event, dict) and event.get("version") == "2.0" and "routeKey" in event


def function_for_event(functions: Iterable[Function], name: str, event: Any) -> Function:
    """The function that receives the event of file `name` (its stem); TemplateError if none."""
    functions = list(functions)
    if is_http_event(event):
        for function in functions:
            if any(route.key == event["routeKey"] for route in function.routes):
                return function
        http = event.get("requestContext", {}).get("http", {})
        router = Router(route for function in functions for route in function.routes)
        match = router.match(str(http.get("method", "")), str(event.get("rawPath", "")))
        if match is not None:
            return next(f for f in functions if f.logical_id == match.route.function_id)
        served = [function for function in functions if function.routes]
        if len(served) == 1:  # an event for a route the API lacks: its only function
            return served[0]
        raise TemplateError(f"{name}: no function serves {event['routeKey']!r}")
    by_folder = sorted(functions, key=lambda f: len(f.code_dir.name), reverse=True)
    for function in by_folder:
        if name.startswith(function.code_dir.name + "_"):
            return function
    raise TemplateError(f"{name}: name it after its function's folder, <folder>_<scenario>.json")


def in_running_order(files: Iterable[Path]) -> list[Path]:
    """Creates first, deletes last, the rest by name."""

    def rank(path: Path) -> tuple[int, str]:
        name = path.stem
        return (0 if name.endswith("_created") else 2 if "_delete" in name else 1, name)

    return sorted(files, key=rank)
