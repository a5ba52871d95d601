"""A route as OpenAPI describes it: what `neonkit.http.Api` records and `neonkit.openapi` reads.

Apart from both so that `neonkit.openapi` needs nothing of `neonkit.http`: the API builds its
document from these on first request, and the command line builds it from an `Api`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

if TYPE_CHECKING:
    from ._listing import ListQueryShape
    from .resources import Resource

__all__ = [
    "JSON",
    "PATH_VARIABLE",
    "SCHEMAS",
    "Documented",
    "DocumentedApi",
    "Operation",
    "Schema",
    "resolver_path",
]

JSON = "application/json"
PATH_VARIABLE = re.compile(r"\{(\w+)\}")  # a path's variable as OpenAPI writes it: {id}
SCHEMAS = "#/components/schemas/"


def resolver_path(path: str) -> str:
    """OpenAPI's `/todos/{id}` as Powertools' resolver writes it: `/todos/<id>`."""
    return PATH_VARIABLE.sub(r"<\1>", path)


class Documented(Protocol):
    """Anything a route can name as its body or answer: a resource, one of its shapes
    (`Todo.New`, `Todo.Page`...), or a `neonkit.resources.Schema` written by hand."""

    def schema_ref(self) -> dict[str, Any]: ...

    def schema_components(self) -> dict[str, dict[str, Any]]: ...


class Schema(NamedTuple):
    """A named JSON Schema written by hand, for a custom route's body or answer."""

    name: str
    schema: dict[str, Any]

    def schema_ref(self) -> dict[str, Any]:
        return {"$ref": SCHEMAS + self.name}

    def schema_components(self) -> dict[str, dict[str, Any]]:
        return {self.name: self.schema}


class Operation(NamedTuple):
    """One route as OpenAPI describes it; `neonkit.openapi` turns these into the document."""

    method: str  # upper case
    path: str  # OpenAPI's form: /todos/{id}
    summary: str
    responses: Mapping[int, Documented | None]
    body: Documented | None = None
    query: ListQueryShape | None = None
    parameters: Sequence[Mapping[str, Any]] = ()
    errors: Sequence[int] = ()
    database: bool = True  # may answer 503 when the database is unavailable
    public: bool = False  # needs no caller identity (health, the OpenAPI document)
    description: str | None = None
    tags: Sequence[str] = ()
    resource: type[Resource] | None = None  # whose `id` is in the path, if no answer names it
    operation_id: str | None = None  # the route function's name

    def statuses(self) -> list[int]:
        """Every status this route can answer, from what it declares and what it takes."""
        found = set(self.responses) | set(self.errors)
        if self.body is not None:
            found |= {400, 413, 422}
        if self.query is not None or "{" in self.path:
            found.add(422)
        if self.database:
            found.add(503)
        return sorted(found)


class DocumentedApi(Protocol):
    """What an API's OpenAPI document is made from: a `neonkit.http.Api` is one."""

    @property
    def title(self) -> str: ...

    @property
    def version(self) -> str: ...

    @property
    def description(self) -> str | None: ...

    @property
    def operations(self) -> Sequence[Operation]: ...

    def bearer_issuer(self) -> str | None:
        """The issuer whose bearer token every route not `public` needs, or None (open)."""
        ...
