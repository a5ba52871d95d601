"""A new resource's events: one API Gateway (HTTP API, payload 2.0) request per scenario.

Named `<resource>_<action>_<outcome>.json`, whose outcome promises the status (`_created`
201, `_invalid` 422, `_missing` 404, `_malformed` 400, else 2xx). Run in order (creates first,
deletes last), the batch makes rows 1 and 2 and the create row 3: `_get_found` reads row 1,
`_update_found` changes row 2, `_delete_found` deletes row 3. Where the rows belong to their
caller, every event carries the claims API Gateway's JWT authorizer would pass (one user's),
as the sample's do: the API runs it as that user, with or without an issuer configured.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple
from urllib.parse import quote

from .._routes import Router
from ._samples import Samples
from ._spec import Spec

__all__ = ["events"]

_HOST = "r3pmxmplak.execute-api.us-east-1.amazonaws.com"
_MISSING_ID = 987654321
# What the authorizer verified, as API Gateway passes it (every claim a string)
_CLAIMS = {
    "sub": "8c1e2f4a-6b7d-4e9f-a1b2-c3d4e5f6a7b8",
    "iss": "https://auth.example.com/",
    "aud": "my-api",
    "iat": "1795618800",
    "exp": "1795622700",
}


class _Request(NamedTuple):
    method: str
    path: str
    body: Any = None
    query: dict[str, str] | None = None
    headers: dict[str, str] | None = None
    raw_body: str | None = None  # a body that is not JSON


def events(spec: Spec, data: Samples, router: Router) -> dict[str, str]:
    """File name -> the event's JSON text, for each scenario."""
    name, rows = spec.name, data.rows
    path, missing = f"/{name}", f"/{name}/{_MISSING_ID}"
    wrong_field = next(iter(data.wrong), None)
    invalid = {wrong_field: data.wrong[wrong_field]} if wrong_field else {"no_such_field": 1}
    listed = dict([data.filters[0][:2]]) if data.filters else {}
    requests = {
        "create_created": _Request("POST", path, rows[0]),
        "create_idempotent_created": _Request(
            "POST", path, rows[1], headers={"idempotency-key": f"{spec.singular}-2027-01"}
        ),
        "create_invalid": _Request("POST", path, {**rows[0], **invalid}),
        "create_malformed": _Request("POST", path, raw_body='{"unterminated'),
        "batch_created": _Request("POST", f"{path}/batch", [rows[1], rows[2]]),
        "batch_invalid": _Request("POST", f"{path}/batch", [rows[0], {**rows[1], **invalid}]),
        "list": _Request("GET", path, query={"limit": "2"}),
        "list_filtered": _Request(
            "GET", path, query={**listed, "sort": "-created_at", "limit": "10"}
        ),
        "list_invalid": _Request("GET", path, query={"limit": "lots", "sort": "nope"}),
        "get_found": _Request("GET", f"{path}/1"),
        "get_missing": _Request("GET", missing),
        "get_invalid": _Request("GET", f"{path}/abc"),
        "update_found": _Request("PATCH", f"{path}/2", data.changes),
        "update_invalid": _Request("PATCH", f"{path}/2", invalid),
        "update_missing": _Request("PATCH", missing, data.changes),
        "delete_found": _Request("DELETE", f"{path}/3"),
        "delete_missing": _Request("DELETE", missing),
    }
    claims = _CLAIMS if spec.owner else None
    return {
        f"{name}_{scenario}.json": json.dumps(
            _event(request, router, n, claims), indent=2, ensure_ascii=False
        )
        + "\n"
        for n, (scenario, request) in enumerate(requests.items(), start=1)
    }


def _event(
    request: _Request, router: Router, n: int, claims: dict[str, str] | None
) -> dict[str, Any]:
    """The event API Gateway sends the function for this request, through its route."""
    match = router.match(request.method, request.path)
    assert match is not None  # the command checked that a route serves the resource's path
    query = request.query or {}
    body = request.raw_body if request.body is None else json.dumps(request.body)
    headers = {"accept": "application/json"}
    if body is not None:
        headers["content-length"] = str(len(body.encode()))
        headers["content-type"] = "application/json"
    headers |= {
        "host": _HOST,
        **(request.headers or {}),
        "user-agent": "curl/8.5.0",
        "x-amzn-trace-id": "Root=1-6744a1f0-0123456789abcdef01234567",
        "x-forwarded-for": "203.0.113.10",
        "x-forwarded-port": "443",
        "x-forwarded-proto": "https",
    }
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": match.route.key,
        "rawPath": request.path,
        "rawQueryString": "&".join(f"{k}={quote(v, safe='')}" for k, v in query.items()),
        "headers": dict(sorted(headers.items())),
    }
    if query:
        event["queryStringParameters"] = query
    event["requestContext"] = {
        "accountId": "123456789012",
        "apiId": _HOST.split(".")[0],
        **({"authorizer": {"jwt": {"claims": claims, "scopes": None}}} if claims else {}),
        "domainName": _HOST,
        "domainPrefix": _HOST.split(".")[0],
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": "HTTP/1.1",
            "sourceIp": "203.0.113.10",
            "userAgent": "curl/8.5.0",
        },
        "requestId": f"Rs{n:04d}j2qIAMEb3Q=",
        "routeKey": match.route.key,
        "stage": "$default",
        "time": "25/Nov/2026:16:00:00 +0000",
        "timeEpoch": 1795622400000,
    }
    if match.path_parameters:
        event["pathParameters"] = dict(match.path_parameters)
    if body is not None:
        event["body"] = body
    event["isBase64Encoded"] = False
    return event
