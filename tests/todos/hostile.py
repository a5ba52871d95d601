"""A corpus of hostile HTTP requests for the todos API, each with the answer it must get
(the kit's own, for any API, is tests/kit/support/hostile.py; this one is about todos).

Every case is one raw HTTP/1.1 request (method, target as sent, headers, body bytes) and:

- `status`: the documented answer (README, "Bad input never gets a 500"): 400 malformed
  (not JSON, not UTF-8, a bad header), 413 over the 256 KiB body limit, 422 wrong or
  invalid fields and parameters, 404 a missing row or route (the template sends every path
  to the function: its JSON 404), and API Gateway's own 404 for `/`, which no route matches
  (`answered_by="gateway"`: its body is `{"message": "Not Found"}`);
- what it must leave in the database: `creates` (rows a valid request adds, stored
  verbatim, SQL-looking text included) and `updates` (seed rows a valid PATCH changes);
  anything else leaves the table exactly as it was.

`SEEDS` are inserted before the corpus runs (ids 1, 2, ...), so that a filter widened by an
injection would show rows it must not, and PATCH cases have rows to change.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote

from tests.kit.support.hostile import LEAKS, Case, json_bytes

__all__ = ["CORPUS", "LEAKS", "SEEDS", "Todo", "TodoCase"]

# Classic payloads, each in its own dialect of "break out of the literal".
INJECTIONS = (
    "'; DROP TABLE todos; --",
    "Robert'); DROP TABLE todos;--",
    "' OR '1'='1",
    "1; DELETE FROM todos",
    '"); TRUNCATE todos CASCADE; --',
    "x' UNION SELECT version(), current_user --",
    "$$; DROP TABLE todos; $$",
    "'; SELECT pg_sleep(10); --",
    "E'\\x27'; COPY todos TO PROGRAM 'id'; --",
    "%s %(title)s {0} {title} ?",
    "\\'; DROP TABLE todos; --",
    "/**/OR/**/1=1",
)
TAG_INJECTION = "' OR 1=1 --"
KEY_INJECTION = "x';DROP/**/TABLE/**/todos;--"


@dataclass(frozen=True)
class Todo:
    """A row as the API stores it: what a valid request must leave, verbatim."""

    title: str
    tags: tuple[str, ...] = ()
    due: str | None = None
    done: bool = False
    key: str | None = None


@dataclass(frozen=True)
class TodoCase(Case):
    creates: tuple[Todo, ...] = ()
    updates: Mapping[int, Mapping[str, Any]] = field(default_factory=dict)
    lists_tag: str | None = None  # a 200 list must hold exactly the rows with this tag


def cursor(*items: Any) -> str:
    """A list cursor in the API's own encoding (url-safe base64 of a JSON array)."""
    return base64.urlsafe_b64encode(json.dumps(list(items)).encode()).decode().rstrip("=")


def post(name: str, value: Any, status: int, *creates: Todo, path: str = "/todos") -> TodoCase:
    return TodoCase(name, "POST", path, status, json_bytes(value), creates=creates)


def raw_post(
    name: str,
    body: bytes | None,
    status: int,
    content_type: str | None = "application/json",
    *creates: Todo,
) -> TodoCase:
    return TodoCase(name, "POST", "/todos", status, body, content_type, creates=creates)


def get(name: str, target: str, status: int, *, lists_tag: str | None = None) -> TodoCase:
    return TodoCase(name, "GET", target, status, content_type=None, lists_tag=lists_tag)


def query(**params: str) -> str:
    return "/todos?" + "&".join(f"{k}={quote(v, safe='')}" for k, v in params.items())


def patch(name: str, todo_id: int, value: Any, status: int, **changed: Any) -> TodoCase:
    updates = {todo_id: changed} if changed else {}
    return TodoCase(name, "PATCH", f"/todos/{todo_id}", status, json_bytes(value), updates=updates)


def route(name: str, method: str, target: str, body: bytes | None = None) -> TodoCase:
    """No such route: the template sends every path to the API, which answers a JSON 404."""
    content_type = "application/json" if body else None
    answered_by = "gateway" if target == "/" else "function"  # `/{proxy+}` does not match `/`
    return TodoCase(name, method, target, 404, body, content_type, answered_by=answered_by)


SEEDS = (
    Todo("seed: home", ("home",)),
    Todo("seed: work", ("work",)),
    Todo("seed: tagged with an injection", (TAG_INJECTION,)),
    Todo("seed: title patched"),
    Todo("seed: tags patched"),
    Todo("seed: due patched"),
    Todo("seed: done patched"),
)
PATCH_TITLE, PATCH_TAGS, PATCH_DUE, PATCH_DONE = 4, 5, 6, 7
MAX_ID = 2**63 - 1


def _injection_cases() -> list[TodoCase]:
    cases: list[TodoCase] = []
    for i, text in enumerate(INJECTIONS):
        cases.append(post(f"title injection {i}", {"title": text}, 201, Todo(text)))
        cases.append(get(f"sort injection {i}", query(sort=text), 422))
        cases.append(get(f"path id injection {i}", "/todos/" + quote(text, safe=""), 422))
    for text in INJECTIONS[:4]:
        tag = text[:50]
        cases += [
            post(
                f"tag injection {tag!r}",
                {"title": "tagged", "tags": [tag]},
                201,
                Todo("tagged", (tag,)),
            ),
            post(f"due injection {text!r}", {"title": "due", "due": f"2026-01-01{text}"}, 422),
            post(f"field name injection {text!r}", {"title": "x", text: 1}, 422),
            get(f"done injection {text!r}", query(done=f"true{text}"), 422),
            get(f"limit injection {text!r}", query(limit=f"1{text}"), 422),
            get(f"after injection {text!r}", query(after=text), 422),
            get(f"parameter name injection {text!r}", "/todos?" + quote(text, safe="") + "=1", 422),
            TodoCase(
                f"DELETE id injection {text!r}",
                "DELETE",
                "/todos/" + quote(text, safe=""),
                422,
                content_type=None,
            ),
        ]
    cases += [
        get("tag filter injection", query(tag=TAG_INJECTION), 200, lists_tag=TAG_INJECTION),
        get("tag filter OR 1=1", query(tag="home' OR '1'='1"), 200, lists_tag="home' OR '1'='1"),
        get("sort with a second column", query(sort="id, (SELECT 1)"), 422),
        get("sort on a column not offered", query(sort="title"), 422),
        get("sort with a direction", query(sort="id DESC"), 422),
        get("cursor holding SQL as its value", query(after=cursor("id", "1 OR 1=1", 1)), 422),
        get(
            "cursor holding SQL as its id", query(after=cursor("id", 1, "1; DROP TABLE todos")), 422
        ),
        get(
            "cursor holding SQL as its timestamp",
            query(
                sort="created_at", after=cursor("created_at", "2020-01-01'; DROP TABLE todos;--", 1)
            ),
            422,
        ),
        get("cursor for another sort", query(sort="-id", after=cursor("id", 1, 1)), 422),
        patch(
            "PATCH title injection", PATCH_TITLE, {"title": INJECTIONS[0]}, 200, title=INJECTIONS[0]
        ),
        patch(
            "PATCH tags injection",
            PATCH_TAGS,
            {"tags": [TAG_INJECTION]},
            200,
            tags=(TAG_INJECTION,),
        ),
        patch("PATCH done injection", PATCH_DONE, {"done": "true' OR '1'='1"}, 422),
        post(
            "batch of injections",
            [{"title": INJECTIONS[1]}, {"title": INJECTIONS[4]}],
            201,
            Todo(INJECTIONS[1]),
            Todo(INJECTIONS[4]),
            path="/todos/batch",
        ),
        TodoCase(
            "Idempotency-Key with SQL and spaces",
            "POST",
            "/todos",
            400,
            json_bytes({"title": "keyed"}),
            headers=(("Idempotency-Key", INJECTIONS[0]),),
        ),
        TodoCase(
            "Idempotency-Key with SQL, no spaces",
            "POST",
            "/todos",
            201,
            json_bytes({"title": "keyed"}),
            headers=(("Idempotency-Key", KEY_INJECTION),),
            creates=(Todo("keyed", key=KEY_INJECTION),),
        ),
        TodoCase(
            "Idempotency-Key of 201 characters",
            "POST",
            "/todos",
            400,
            json_bytes({"title": "keyed"}),
            headers=(("Idempotency-Key", "k" * 201),),
        ),
        TodoCase(
            "Idempotency-Key not ASCII",
            "POST",
            "/todos",
            400,
            json_bytes({"title": "keyed"}),
            headers=(("Idempotency-Key", "clé-1"),),
        ),
    ]
    return cases


def _number_cases() -> list[TodoCase]:
    digits = "9" * 5000  # past Python's 4300-digit limit for int()
    return [
        post("title a huge integer", {"title": 10**400}, 422),
        raw_post("title an integer of 5000 digits", b'{"title": ' + digits.encode() + b"}", 400),
        raw_post("title 1e999 (infinite)", b'{"title": 1e999}', 422),
        raw_post("title NaN", b'{"title": NaN}', 400),
        raw_post("title -Infinity", b'{"title": -Infinity}', 400),
        post("title negative", {"title": -1}, 422),
        post("title a float", {"title": 1.5}, 422),
        post("tags with a float", {"title": "x", "tags": [1.5]}, 422),
        post("due a number", {"title": "x", "due": 20261224}, 422),
        post("due a float", {"title": "x", "due": 2026.12}, 422),
        post("due year zero", {"title": "x", "due": "0000-01-01"}, 422),
        post("due year 99999", {"title": "x", "due": "99999-01-01"}, 422),
        post("due negative year", {"title": "x", "due": "-0001-01-01"}, 422),
        post("due Feb 30", {"title": "x", "due": "2027-02-30"}, 422),
        post(
            "due the last day there is",
            {"title": "far", "due": "9999-12-31"},
            201,
            Todo("far", due="9999-12-31"),
        ),
        get("limit negative", query(limit="-1"), 422),
        get("limit zero", query(limit="0"), 422),
        get("limit 20 digits: capped at 100", query(limit="99999999999999999999"), 200),
        get("limit 5000 digits: capped at 100", query(limit=digits), 200),
        get("limit a float", query(limit="1.5"), 422),
        get("limit in exponent form", query(limit="1e3"), 422),
        get("limit in hex", query(limit="0x10"), 422),
        get("limit in Arabic-Indic digits", query(limit="\u0661\u0662"), 422),
        get("limit with a space", query(limit=" 5"), 422),
        get("limit over the cap", query(limit="1000"), 200),
        get("id negative", "/todos/-1", 422),
        get("id zero", "/todos/0", 422),
        get("id one past bigint", f"/todos/{MAX_ID + 1}", 422),
        get("id the largest bigint", f"/todos/{MAX_ID}", 404),
        get("id 20 digits", "/todos/" + "9" * 20, 422),
        get("id a float", "/todos/1.0", 422),
        get("id in exponent form", "/todos/1e3", 422),
        get("id with a plus sign", "/todos/+1", 422),
        get("id in Arabic-Indic digits", "/todos/" + quote("\u0661"), 422),
        get("cursor past bigint", query(after=cursor("id", 10**30, 10**30)), 200),
        get("cursor negative", query(after=cursor("id", -(10**30), -1)), 200),
        get("cursor with a float", query(after=cursor("id", 1.5, 1)), 422),
        get("cursor with a boolean", query(after=cursor("id", True, 1)), 422),
        get("cursor with a boolean id", query(after=cursor("id", 1, True)), 422),
        get("cursor with NaN", query(after=cursor("id", float("nan"), 1)), 422),
        patch("PATCH done 1", PATCH_DONE, {"done": 1}, 422),
        patch("PATCH done 0", PATCH_DONE, {"done": 0}, 422),
        patch("PATCH done null", PATCH_DONE, {"done": None}, 422),
        patch("PATCH done as text", PATCH_DONE, {"done": "true"}, 422),
        patch("PATCH due a huge integer", PATCH_DUE, {"due": 10**100}, 422),
        patch("PATCH done true", PATCH_DONE, {"done": True}, 200, done=True),
    ]


def _type_cases() -> list[TodoCase]:
    return [
        post("title true", {"title": True}, 422),
        post("title null", {"title": None}, 422),
        post("title an array", {"title": ["a"]}, 422),
        post("title an operator object", {"title": {"$ne": None}}, 422),
        post("tags a string", {"title": "x", "tags": "home"}, 422),
        post("tags true", {"title": "x", "tags": True}, 422),
        post("tags with booleans", {"title": "x", "tags": [False]}, 422),
        post("tags an object", {"title": "x", "tags": {"a": 1}}, 422),
        post("tags 21 of them", {"title": "x", "tags": [f"t{i}" for i in range(21)]}, 422),
        post("tag of 51 characters", {"title": "x", "tags": ["t" * 51]}, 422),
        post("due true", {"title": "x", "due": True}, 422),
        post("title of 501 characters", {"title": "x" * 501}, 422),
        post("title blank", {"title": "   "}, 422),
        post("title of 500 characters", {"title": "x" * 500}, 201, Todo("x" * 500)),
        post("title of 500 accented letters", {"title": "é" * 500}, 201, Todo("é" * 500)),
        post("title of 500 emoji", {"title": "😀" * 500}, 201, Todo("😀" * 500)),
        post(
            "title with a right-to-left override",
            {"title": "abc\u202edef"},
            201,
            Todo("abc\u202edef"),
        ),
        post("a __proto__ field", {"title": "x", "__proto__": {"admin": True}}, 422),
        raw_post(
            "duplicate keys: the last wins",
            b'{"title": "first", "title": "last"}',
            201,
            "application/json",
            Todo("last"),
        ),
        post("body null", None, 422),
        post("body an array", [], 422),
        post("body a string", "title", 422),
        post("body a number", 1, 422),
        post("body an empty object", {}, 422),
        post("batch an object", {"title": "x"}, 422, path="/todos/batch"),
        post("batch empty", [], 422, path="/todos/batch"),
        post("batch of 101", [{"title": "x"}] * 101, 422, path="/todos/batch"),
        post("batch with one bad item", [{"title": "ok"}, {"title": 5}], 422, path="/todos/batch"),
        patch("PATCH nothing", PATCH_TITLE, {}, 422),
        patch("PATCH an unknown field", PATCH_TITLE, {"id": 1}, 422),
        patch("PATCH body an array", PATCH_TITLE, [], 422),
        patch("PATCH title null", PATCH_TITLE, {"title": None}, 422),
        patch("PATCH due a date", PATCH_DUE, {"due": "2026-12-24"}, 200, due="2026-12-24"),
    ]


def _encoding_cases() -> list[TodoCase]:
    return [
        raw_post("invalid UTF-8 (0xff 0xfe)", b'{"title": "\xff\xfe"}', 400),
        raw_post("overlong UTF-8 for /", b'{"title": "\xc0\xaf"}', 400),
        raw_post("truncated UTF-8", b'{"title": "\xe2\x82"}', 400),
        raw_post("a surrogate encoded in UTF-8", b'{"title": "\xed\xa0\x80"}', 400),
        raw_post("invalid UTF-8, text/plain", b'{"title": "\xff"}', 400, "text/plain"),
        raw_post("a raw NUL in a string", b'{"title": "a\x00b"}', 400),
        raw_post("a raw NUL after the JSON", b'{"title": "a"}\x00', 400),
        raw_post("a raw NUL alone", b"\x00", 400),
        post("an escaped NUL in the title", {"title": "a\u0000b"}, 422),
        post("an escaped NUL in a tag", {"title": "x", "tags": ["\u0000"]}, 422),
        patch("PATCH an escaped NUL", PATCH_TITLE, {"title": "\u0000"}, 422),
        get("a NUL in the tag filter", query(tag="\x00"), 422),
        get("a NUL as the id", "/todos/%00", 422),
        post("a lone high surrogate in the title", {"title": "\ud800"}, 422),
        post("a lone low surrogate in a tag", {"title": "x", "tags": ["\udfff"]}, 422),
        patch("PATCH a lone surrogate", PATCH_TITLE, {"title": "a\ud83d"}, 422),
        post("a surrogate pair", {"title": "\ud83d\ude00"}, 201, Todo("😀")),
        raw_post(
            "a UTF-16 body",
            '{"title": "x"}'.encode("utf-16"),
            400,
            "application/json; charset=utf-16",
        ),
        raw_post("a UTF-8 byte order mark", b'\xef\xbb\xbf{"title": "x"}', 400),
        get("invalid UTF-8 in the id", "/todos/%C0%AF", 422),
        get("invalid UTF-8 in the tag filter", "/todos?tag=%FF%FE", 200, lists_tag="\ufffd\ufffd"),
    ]


def _shape_cases() -> list[TodoCase]:
    deep = 10_000
    return [
        raw_post("arrays nested 10,000 deep", b"[" * deep + b"]" * deep, 400),
        raw_post("objects nested 10,000 deep", b'{"a":' * deep + b"1" + b"}" * deep, 400),
        raw_post(
            "a title nested 10,000 deep", b'{"title": ' + b"[" * deep + b"]" * deep + b"}", 400
        ),
        TodoCase(
            "PATCH nested 10,000 deep",
            "PATCH",
            f"/todos/{PATCH_TITLE}",
            400,
            b"[" * deep + b"]" * deep,
        ),
        TodoCase(
            "batch nested 10,000 deep", "POST", "/todos/batch", 400, b"[" * deep + b"]" * deep
        ),
        # Over Lambda's 6 MB invoke limit: in AWS the function never runs and API Gateway
        # answers 413 itself; locally the function gets the event and its own limit answers.
        replace(
            raw_post("a 7 MB body", b'{"title": "' + b"x" * (7 * 1024 * 1024) + b'"}', 413),
            answered_by="either",
        ),
        raw_post("a body just over 256 KiB", json_bytes({"title": "x" * (256 * 1024)}), 413),
        TodoCase(
            "PATCH with a 7 MB body",
            "PATCH",
            f"/todos/{PATCH_TITLE}",
            413,
            b"[" + b"1," * (3584 * 1024) + b"1]",
            answered_by="either",
        ),
        raw_post("an empty body", b"", 400),
        raw_post("no body at all", None, 400, None),
        raw_post("a body of spaces", b"   \r\n\t", 400),
        raw_post("unterminated JSON", b'{"title": "x', 400),
        raw_post("a trailing comma", b'{"title": "x",}', 400),
        raw_post("single quotes", b"{'title': 'x'}", 400),
        raw_post("two JSON documents", b'{"title": "a"}{"title": "b"}', 400),
        TodoCase("PATCH with an empty body", "PATCH", f"/todos/{PATCH_TITLE}", 400, b""),
        TodoCase("batch with an empty body", "POST", "/todos/batch", 400, b""),
        # The API reads every body as JSON whatever its type (the README's `curl -d` sends a
        # form type): valid JSON is accepted, anything else is malformed.
        raw_post(
            "JSON sent as text/plain", b'{"title": "plain"}', 201, "text/plain", Todo("plain")
        ),
        raw_post(
            "JSON sent as a form",
            b'{"title": "form"}',
            201,
            "application/x-www-form-urlencoded",
            Todo("form"),
        ),
        raw_post("JSON with no content type", b'{"title": "untyped"}', 201, None, Todo("untyped")),
        raw_post("a form body", b"title=x&done=true", 400, "application/x-www-form-urlencoded"),
        raw_post(
            "a multipart body",
            b'--b\r\nContent-Disposition: form-data; name="title"\r\n\r\nx\r\n--b--\r\n',
            400,
            "multipart/form-data; boundary=b",
        ),
        raw_post("an XML body", b"<todo><title>x</title></todo>", 400, "application/xml"),
        raw_post("an octet-stream body", bytes(range(256)), 400, "application/octet-stream"),
    ]


def _route_cases() -> list[TodoCase]:
    return [
        route("PUT /todos/1", "PUT", "/todos/1", b'{"title": "x"}'),
        route("OPTIONS /todos", "OPTIONS", "/todos"),
        route("OPTIONS /todos/1", "OPTIONS", "/todos/1"),
        route("DELETE /todos", "DELETE", "/todos"),
        route("PATCH /todos", "PATCH", "/todos", b'{"title": "x"}'),
        route("POST /todos/1", "POST", "/todos/1", b'{"title": "x"}'),
        route("GET /nope", "GET", "/nope"),
        route("GET /", "GET", "/"),
        route("GET /TODOS", "GET", "/TODOS"),
        route("GET /todos/", "GET", "/todos/"),
        route("GET /todos/1/extra", "GET", "/todos/1/extra"),
        route("GET /todos/batch/1", "GET", "/todos/batch/1"),
        route("a path of 4,000 segments", "GET", "/nope" + "/a" * 4000),
        get("an id of 8,000 digits", "/todos/" + "9" * 8000, 422),
        get("a tag of 8,000 characters", query(tag="x" * 8000), 422),
        get("a cursor of 8,000 characters", query(after="A" * 8000), 422),
        get("1,000 unknown parameters", "/todos?" + "&".join(f"p{i}=1" for i in range(1000)), 422),
        get("a repeated parameter", "/todos?sort=id&sort=-id", 422),
    ]


CORPUS: tuple[TodoCase, ...] = (
    *_injection_cases(),
    *_number_cases(),
    *_type_cases(),
    *_encoding_cases(),
    *_shape_cases(),
    *_route_cases(),
)
