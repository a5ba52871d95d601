"""Which HttpApi route serves a request: the most specific one, or none (404)."""

from __future__ import annotations

import pytest
from localdev._routes import Route, Router

ROUTES = [
    Route("GET", "/todos", "List"),
    Route("POST", "/todos", "Create"),
    Route("POST", "/todos/batch", "Batch"),
    Route("GET", "/todos/{id}", "Get"),
    Route("ANY", "/todos/{id}", "AnyTodo"),
    Route("GET", "/files/{proxy+}", "Files"),
    Route("GET", "/files/readme", "Readme"),
    Route("ANY", "/{proxy+}", "Everything"),
    Route("GET", "/users/{user}/todos/{id}", "UserTodo"),
    Route("GET", "/", "Root"),
]


@pytest.mark.parametrize(
    ("method", "path", "function_id", "parameters"),
    [
        ("GET", "/todos", "List", {}),
        ("POST", "/todos", "Create", {}),
        ("POST", "/todos/batch", "Batch", {}),  # a literal beats {id}
        ("GET", "/todos/7", "Get", {"id": "7"}),  # a named method beats ANY
        ("DELETE", "/todos/7", "AnyTodo", {"id": "7"}),
        ("GET", "/todos/a%20b", "Get", {"id": "a b"}),  # path parameters are decoded
        ("GET", "/files/readme", "Readme", {}),
        ("GET", "/files/a/b/c.txt", "Files", {"proxy": "a/b/c.txt"}),
        ("GET", "/users/ann/todos/3", "UserTodo", {"user": "ann", "id": "3"}),
        ("PUT", "/anything/else", "Everything", {"proxy": "anything/else"}),
        ("GET", "/", "Root", {}),
    ],
)
def test_most_specific_route_wins(
    method: str, path: str, function_id: str, parameters: dict[str, str]
) -> None:
    match = Router(ROUTES).match(method, path)
    assert match is not None
    assert (match.route.function_id, match.path_parameters) == (function_id, parameters)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nothing"),
        ("DELETE", "/todos"),  # the path is routed, the method is not: 404 in HTTP APIs
        ("GET", "/todos/"),  # an empty {id} matches nothing
        ("GET", "/todos/1/extra"),
        ("GET", "/files"),  # a greedy variable needs at least one segment
        ("POST", "/"),
        ("get", "/todos"),  # methods are case-sensitive
    ],
)
def test_no_route(method: str, path: str) -> None:
    routes = [r for r in ROUTES if r.function_id != "Everything"]
    assert Router(routes).match(method, path) is None


def test_default_route_catches_the_rest_last() -> None:
    router = Router([Route("ANY", "$default", "Default"), Route("GET", "/{proxy+}", "Greedy")])

    def served_by(method: str, path: str) -> str:
        match = router.match(method, path)
        assert match is not None
        return match.route.key

    assert served_by("GET", "/x") == "GET /{proxy+}"
    assert served_by("POST", "/x") == "$default"
    assert served_by("GET", "/") == "$default"


def test_greedy_variable_must_be_last() -> None:
    with pytest.raises(ValueError, match="greedy variable must end the path"):
        Route("GET", "/{proxy+}/more", "Fn")


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "get", "BREW"])
def test_any_is_the_methods_an_http_api_knows(method: str) -> None:
    router = Router([Route("ANY", "/{proxy+}", "Greedy"), Route("ANY", "$default", "Default")])
    assert router.match(method, "/x") is None
    assert router.match("PATCH", "/x") is not None
