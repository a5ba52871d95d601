"""HttpApi routes, and how API Gateway picks the one that serves a request.

A route is a method (or ANY) and a path whose segments are literals, `{name}` (one segment)
or a final greedy `{name+}` (one or more segments), or the catch-all `$default`. When several
routes match, the most specific wins: literal segments before variables before greedy ones,
compared from the left, then a named method before ANY, and `$default` last.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import unquote

from ._jwt import JwtAuthorizer

__all__ = ["ANY_METHODS", "DEFAULT_ROUTE", "Match", "Route", "Router"]

DEFAULT_ROUTE = "$default"
# The methods an HttpApi route can name; ANY is these. Another (TRACE, PROPFIND) reaches no route.
ANY_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
_LITERAL, _VARIABLE, _GREEDY = 0, 1, 2


@dataclass(frozen=True)
class Route:
    """One HttpApi event of a function: `GET /todos/{id}` served by `ApiFunction`."""

    method: str  # upper case: GET, POST... or ANY
    path: str  # "/todos/{id}", "/{proxy+}", or "$default"
    function_id: str
    event_id: str = ""
    payload_format: str = "2.0"
    integration_timeout: float = 30.0  # seconds API Gateway waits for the function
    authorizer: JwtAuthorizer | None = None  # a token is required (None: the route is open)
    _segments: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        segments = () if self.path == DEFAULT_ROUTE else tuple(self.path.split("/")[1:])
        for i, segment in enumerate(segments):
            if segment.endswith("+}") and i != len(segments) - 1:
                raise ValueError(f"a greedy variable must end the path, got {self.path!r}")
        object.__setattr__(self, "_segments", segments)

    @property
    def key(self) -> str:
        """API Gateway's routeKey: `GET /todos/{id}`, or `$default`."""
        return DEFAULT_ROUTE if self.path == DEFAULT_ROUTE else f"{self.method} {self.path}"

    def path_parameters(self, raw_path: str) -> dict[str, str] | None:
        """The path's variables if `raw_path` fits this route's path (any method), else None."""
        if self.path == DEFAULT_ROUTE:
            return {}
        parts = raw_path.split("/")[1:]
        parameters: dict[str, str] = {}
        for i, segment in enumerate(self._segments):
            kind = _kind(segment)
            if kind == _GREEDY:
                rest = parts[i:]
                if not rest or rest == [""]:
                    return None
                parameters[segment[1:-2]] = unquote("/".join(rest))
                return parameters
            if i >= len(parts):
                return None
            if kind == _VARIABLE:
                if not parts[i]:
                    return None
                parameters[segment[1:-1]] = unquote(parts[i])
            elif unquote(parts[i]) != segment:
                return None
        return parameters if len(parts) == len(self._segments) else None

    def specificity(self) -> tuple[int, tuple[int, ...], int]:
        """Sorts the most specific route first."""
        if self.path == DEFAULT_ROUTE:
            return (1, (), 1)
        return (0, tuple(_kind(s) for s in self._segments), int(self.method == "ANY"))


@dataclass(frozen=True)
class Match:
    route: Route
    path_parameters: dict[str, str]


class Router:
    """Finds the route for a request among every HttpApi event of the template."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = sorted(routes, key=Route.specificity)

    def match(self, method: str, raw_path: str) -> Match | None:
        """The route serving `method raw_path`, or None (API Gateway answers 404 Not Found).

        A path that only other methods are routed for also gets None: HTTP APIs answer
        404 there, not 405 (nor REST APIs' 403). Methods are case-sensitive (`get` is not GET).
        """
        for route in self.routes:
            if route.method != method and not (route.method == "ANY" and method in ANY_METHODS):
                continue
            parameters = route.path_parameters(raw_path)
            if parameters is not None:
                return Match(route, parameters)
        return None


def _kind(segment: str) -> int:
    if segment.startswith("{") and segment.endswith("+}"):
        return _GREEDY
    if segment.startswith("{") and segment.endswith("}"):
        return _VARIABLE
    return _LITERAL
