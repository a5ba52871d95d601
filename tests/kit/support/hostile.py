"""Hostile HTTP requests, sent raw, and the answers they must get: the kit's part.

Every case is one raw HTTP/1.1 request (method, target as sent, headers, body bytes) and the
status it must get. `kit_cases(path)` are what any API built on the kit must survive, on any
resource (malformed, not UTF-8, too deep, too large, unknown routes and methods, a lone
surrogate in a key). The sample's own corpus (SQL injection in every field...) builds on
this module in tests/todos/hostile.py.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import time
from dataclasses import dataclass
from typing import Any

__all__ = ["LEAKS", "Case", "Reply", "json_bytes", "kit_cases", "send"]

JSON = "application/json"

# Text that would show the server's insides; no case's own text contains any of them.
LEAKS = (
    "Traceback",
    'File "',
    "psycopg",
    "neonkit",
    "msgspec",
    "site-packages",
    "/opt/python",
    ".py",
    "sqlstate",
    "SQLSTATE",
    "syntax error",
    "LINE 1",
    "RETURNING",
    "INSERT INTO",
    "ON CONFLICT",
    "idempotency_key",
    "request_hash",
    "pg_catalog",
    "violates",
)


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    target: str  # as sent on the request line: percent-encoding is the case's business
    status: int
    body: bytes | None = None
    content_type: str | None = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    answered_by: str = "function"  # or "gateway" (API Gateway itself), or "either"

    def request(self, host: str) -> bytes:
        """The request's bytes (one request per connection)."""
        lines = [f"{self.method} {self.target} HTTP/1.1", f"Host: {host}", "Connection: close"]
        if self.content_type is not None:
            lines.append(f"Content-Type: {self.content_type}")
        lines += [f"{name}: {value}" for name, value in self.headers]
        if self.body is not None:
            lines.append(f"Content-Length: {len(self.body)}")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8")
        return head + (self.body or b"")

    def payloads(self) -> list[str]:
        """The texts the client sent (an error may echo them back)."""
        texts = [self.target, *(value for _, value in self.headers)]
        if self.body is not None and len(self.body) < 100_000:
            texts.append(self.body.decode("utf-8", "replace"))
        return texts


@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))  # strict: the answer must be UTF-8


def send(port: int, case: Case) -> Reply:
    """One request on a connection of its own; the answer is read even if the server
    stopped reading the body early."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(case.request(f"127.0.0.1:{port}"))
        response = http.client.HTTPResponse(sock, method=case.method)
        response.begin()
        body = response.read()
    headers = {name.lower(): value for name, value in response.getheaders()}
    return Reply(response.status, headers, body, time.monotonic() - started)


def json_bytes(value: Any) -> bytes:
    """JSON as a client would send it: UTF-8, with \\u escapes only where UTF-8 cannot go."""
    try:
        return json.dumps(value, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: only its escape can travel
        return json.dumps(value).encode("ascii")


def kit_cases(path: str, valid: dict[str, Any]) -> list[Case]:
    """What an API on the kit answers for `path` (a resource's collection) whatever the
    resource: `valid` is a body it accepts, so each case is wrong in one way only."""

    def post(name: str, body: bytes | None, status: int, content_type: str | None = JSON) -> Case:
        return Case(name, "POST", path, status, body, content_type)

    deep = 10_000
    good = json_bytes(valid)
    return [
        # not JSON
        post("an empty body", b"", 400),
        post("no body at all", None, 400, None),
        post("a body of spaces", b"   \r\n\t", 400),
        post("unterminated JSON", good[:-1], 400),
        post("a trailing comma", good[:-1] + b",}", 400),
        post("single quotes", b"{'a': 1}", 400),
        post("two JSON documents", good + good, 400),
        post("NaN", b'{"a": NaN}', 400),
        post("an integer of 5,000 digits", b'{"a": ' + b"9" * 5000 + b"}", 400),
        post("a form body", b"a=1&b=2", 400, "application/x-www-form-urlencoded"),
        post("an XML body", b"<a>1</a>", 400, "application/xml"),
        post("an octet-stream body", bytes(range(256)), 400, "application/octet-stream"),
        # not UTF-8
        post("invalid UTF-8 (0xff 0xfe)", b'{"a": "\xff\xfe"}', 400),
        post("overlong UTF-8 for /", b'{"a": "\xc0\xaf"}', 400),
        post("truncated UTF-8", b'{"a": "\xe2\x82"}', 400),
        post("a surrogate encoded in UTF-8", b'{"a": "\xed\xa0\x80"}', 400),
        post(
            "a UTF-16 body",
            json.dumps(valid).encode("utf-16"),
            400,
            "application/json; charset=utf-16",
        ),
        post("a UTF-8 byte order mark", b"\xef\xbb\xbf" + good, 400),
        post("a raw NUL after the JSON", good + b"\x00", 400),
        # too deep, too large
        post("arrays nested 10,000 deep", b"[" * deep + b"]" * deep, 400),
        post("objects nested 10,000 deep", b'{"a":' * deep + b"1" + b"}" * deep, 400),
        post("a value nested 33 deep", b'{"a": ' + b"[" * 33 + b"]" * 33 + b"}", 400),
        post("a body just over 256 KiB", json_bytes({"a": "x" * (256 * 1024)}), 413),
        Case(
            "a 7 MB body",
            "POST",
            path,
            413,
            b'{"a": "' + b"x" * (7 * 1024 * 1024) + b'"}',
            answered_by="either",
        ),
        # well-formed, wrong: every problem named, input echoed escaped
        post("a lone surrogate in a key", b'{"\\ud800": 1}', 422),
        post("a lone surrogate in a key beside a valid body", good[:-1] + b', "\\udfff": 1}', 422),
        post("body null", b"null", 422),
        post("body an array", b"[]", 422),
        post("an unknown field", good[:-1] + b', "no_such_field": 1}', 422),
        # routes the API does not have: its own JSON 404 (the template routes every path to it)
        Case("PUT on the collection", "PUT", path, 404, good),
        Case("DELETE on the collection", "DELETE", path, 404, content_type=None),
        Case("OPTIONS on the collection", "OPTIONS", path, 404, content_type=None),
        Case("an unknown path", "GET", "/no/such/route", 404, content_type=None),
        Case("a path of 4,000 segments", "GET", "/nope" + "/a" * 4000, 404, content_type=None),
        Case(
            "GET / (no route: API Gateway's own 404)",
            "GET",
            "/",
            404,
            content_type=None,
            answered_by="gateway",
        ),
    ]
