"""The kit's fixture API (tests/kit/fixtures/api): its table, and HTTP API events for it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import psycopg

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "api"
TEMPLATE = FIXTURE / "template.yaml"


def create_table(direct_url: str) -> None:
    """The fixture's migration, applied afresh (its table sits beside the app's own)."""
    with psycopg.connect(direct_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS gadgets")
        conn.execute((FIXTURE / "migrations" / "0001_gadgets.sql").read_text())


def event(
    method: str,
    path: str,
    body: Any = None,
    *,
    query: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    raw_body: str | None = None,
) -> dict[str, Any]:
    """An HTTP API (payload 2.0) event, as API Gateway sends it through a catch-all route."""
    route = "GET /openapi.json" if path == "/openapi.json" else "ANY /{proxy+}"
    text = raw_body if raw_body is not None else None if body is None else json.dumps(body)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route,
        "rawPath": path,
        "rawQueryString": urlencode(query or {}),
        "headers": {"content-type": "application/json", **(headers or {})},
        "requestContext": {
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "127.0.0.1",
            },
            "requestId": "test-request",
            "routeKey": route,
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }
    if route != "GET /openapi.json":
        event["pathParameters"] = {"proxy": path.lstrip("/")}
    if query:
        event["queryStringParameters"] = query
    if text is not None:
        event["body"] = text
    return event
