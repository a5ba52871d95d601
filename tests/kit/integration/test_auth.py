"""`neonkit.auth.install(api)`: each request's statements run as its caller, in the same one
round trip; with an issuer configured, no caller means 401 and no statement sent. Counted on the
wire by a FaultProxy, on both paths (PostgreSQL directly and through PgBouncer)."""

from __future__ import annotations

import copy
import json
from typing import Any

import psycopg
import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from localdev.testing import LambdaContext, load_event
from neonkit import Database, Settings, auth, db, http, using

from tests.kit.support import app as fixture_app
from tests.kit.support.proxy import FaultProxy

Handler = Any


def make_api() -> Any:
    """A small API: who the database thinks is calling, and a public route."""
    resolver = APIGatewayHttpResolver()
    api = http.Api(resolver, Logger(), title="Who", version="1")
    auth.install(api)

    @api.get("/who", summary="Who the database sees", responses={200: None})
    def who() -> Response[str]:
        return http.json_response(
            200, db.one("SELECT current_setting('neonkit.user_id', true) AS who")
        )

    @api.get("/open", summary="Public", responses={200: None}, public=True, database=False)
    def open_route() -> Response[str]:
        return http.json_response(200, {"ok": True})

    api.health()  # GET /health, the kit's own
    return lambda event, context: resolver.resolve(event, context)


def event(path: str, claims: dict[str, Any] | None = None) -> dict[str, Any]:
    data = copy.deepcopy(load_event("notes_get_found", events=fixture_app.EVENTS))
    data["rawPath"] = data["requestContext"]["http"]["path"] = path
    data["routeKey"] = data["requestContext"]["routeKey"] = "ANY /{proxy+}"
    data["pathParameters"] = {"proxy": path.lstrip("/")}
    if claims is not None:
        data["requestContext"]["authorizer"] = {"jwt": {"claims": claims, "scopes": None}}
    return data


def call(handler: Handler, data: dict[str, Any], proxy: FaultProxy) -> tuple[int, Any, int]:
    before = proxy.flights
    response = handler(data, LambdaContext())
    return response["statusCode"], json.loads(response["body"]), proxy.flights - before


def test_a_request_runs_as_the_token_subject_in_one_round_trip(
    wire_db: Database, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEONKIT_AUTH_ISSUER", "https://issuer.example")
    handler = make_api()
    status, body, flights = call(handler, event("/who", {"sub": "alice", "iss": "x"}), proxy)
    assert (status, body, flights) == (200, {"who": "alice"}, 1)
    status, body, flights = call(handler, event("/who", {"sub": "bob"}), proxy)
    assert (status, body, flights) == (200, {"who": "bob"}, 1)


@pytest.mark.parametrize(
    "claims",
    [None, {}, {"sub": ""}, {"sub": "a\x00b"}, {"sub": 7}, {"sub": "x" * 256}],
    ids=["no claims", "no sub", "empty sub", "NUL in sub", "sub not text", "sub too long"],
)
def test_no_usable_caller_is_a_401_and_sends_no_statement(
    claims: dict[str, Any] | None,
    wire_db: Database,
    proxy: FaultProxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("NEONKIT_AUTH_ISSUER", "https://issuer.example")
    status, body, flights = call(make_api(), event("/who", claims), proxy)
    assert (status, body["error"], flights) == (401, "unauthorized", 0)


def test_a_public_route_needs_no_caller(
    wire_db: Database, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEONKIT_AUTH_ISSUER", "https://issuer.example")
    assert call(make_api(), event("/open"), proxy) == (200, {"ok": True}, 0)


def test_health_is_public_and_one_round_trip(
    wire_db: Database, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEONKIT_AUTH_ISSUER", "https://issuer.example")
    assert call(make_api(), event("/health"), proxy) == (200, {"status": "ok"}, 1)


def test_health_is_a_503_with_retry_after_when_the_database_does_not_answer(
    proxy: FaultProxy, notes_url: str
) -> None:
    url = psycopg.conninfo.make_conninfo(notes_url, host="127.0.0.1", port=str(proxy.port))
    database = Database(url, settings=Settings(connect_deadline=0.5, query_timeout=0.5))
    proxy.refuse()  # as while the compute wakes, or the database is down
    with using(database):
        response = make_api()(event("/health"), LambdaContext())
    database.close()
    assert response["statusCode"] == 503
    assert json.loads(response["body"])["error"] == "unavailable"
    assert int(response["headers"]["Retry-After"]) >= 1


def test_without_an_issuer_the_caller_is_anonymous(
    wire_db: Database, proxy: FaultProxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEONKIT_AUTH_ISSUER", raising=False)
    handler = make_api()
    assert call(handler, event("/who"), proxy) == (200, {"who": auth.ANONYMOUS}, 1)
    # claims, when some route's authorizer sent them, still name the caller
    assert call(handler, event("/who", {"sub": "carol"}), proxy) == (200, {"who": "carol"}, 1)
    # and nothing stays set afterwards, on the same connection
    assert wire_db.value("SELECT current_setting('neonkit.user_id', true)") in (None, "")
