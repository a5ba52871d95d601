"""neonkit.http without a database: the one error mapping, bodies, JSON out, route records."""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import logging
import uuid
from typing import Any

import pytest
from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from localdev.testing import LambdaContext
from neonkit import (
    BadRequestError,
    ConflictError,
    ConnectError,
    ConnectionLostError,
    Database,
    DatabaseError,
    ForeignKeyError,
    InvalidDataError,
    NotFoundError,
    PayloadTooLargeError,
    QueryTimeoutError,
    RequestError,
    Settings,
    ValidationError,
    http,
    using,
)


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (BadRequestError("bad"), 400, "bad_request"),
        (RequestError("bad"), 400, "bad_request"),
        (NotFoundError("gone"), 404, "not_found"),
        (PayloadTooLargeError("big"), 413, "payload_too_large"),
        (
            ValidationError("bad", details=[{"field": "a", "problem": "b"}]),
            422,
            "validation_failed",
        ),
        (ConflictError("dup", constraint="todos_pkey"), 409, "conflict"),
        (ForeignKeyError("fk"), 409, "conflict"),
        (InvalidDataError("check"), 422, "validation_failed"),
        (ConnectError("down"), 503, "unavailable"),
        (ConnectionLostError("cut"), 503, "unavailable"),
        (QueryTimeoutError("slow"), 503, "unavailable"),
        (DatabaseError("syntax error at or near SELECT"), 500, "internal_error"),
        (KeyError("x"), 500, "internal_error"),
    ],
)
def test_every_error_has_one_answer(error: Exception, status: int, code: str) -> None:
    answer = http.error_response(error, "req-1")
    assert (answer.status, answer.body["error"]) == (status, code)
    assert answer.body["request_id"] == "req-1"
    assert isinstance(answer.body["message"], str)
    text = json.dumps(answer.body)
    for leak in ("todos_pkey", "SELECT", "KeyError"):
        assert leak not in text
    assert ("Retry-After" in answer.headers) == (status == 503)
    assert answer.is_server_error == (status >= 500)


def test_client_errors_carry_their_message_and_details() -> None:
    error = ValidationError(
        "the request has invalid fields", details=[{"field": "a", "problem": "b"}]
    )
    assert http.error_response(error).body == {
        "error": "validation_failed",
        "message": "the request has invalid fields",
        "details": [{"field": "a", "problem": "b"}],
    }


def test_a_json_answer_is_valid_utf8_whatever_it_holds() -> None:
    response = http.json_response(422, {"field": "\ud800", "text": "é😀"})
    assert isinstance(response.body, str)
    response.body.encode("utf-8")  # no lone surrogate left in the text
    assert json.loads(response.body)["text"] == "é😀"


def event(body: str | None, *, base64_encoded: bool = False) -> APIGatewayProxyEventV2:
    return APIGatewayProxyEventV2({"body": body, "isBase64Encoded": base64_encoded})


def test_request_body() -> None:
    assert http.request_body(event('{"a": 1}')) == b'{"a": 1}'
    assert (
        http.request_body(event(base64.b64encode(b"\xff").decode(), base64_encoded=True)) == b"\xff"
    )
    assert http.request_body(event(None)) == b""
    with pytest.raises(PayloadTooLargeError, match="limit is 4 bytes"):
        http.request_body(event("12345"), max_bytes=4)
    with pytest.raises(BadRequestError, match="base64"):
        http.request_body(event("%%%", base64_encoded=True))


@pytest.mark.parametrize("key", ["k", "x" * 200, "a-b_c:1/2"])
def test_a_good_idempotency_key(key: str) -> None:
    assert http.idempotency_key({"idempotency-key": key}) == key


@pytest.mark.parametrize("key", ["", "a b", "x" * 201, "clé", "a\tb"])
def test_a_bad_idempotency_key_is_a_400(key: str) -> None:
    with pytest.raises(BadRequestError):
        http.idempotency_key({"idempotency-key": key})


def test_a_route_is_recorded_with_what_it_can_answer() -> None:
    app = APIGatewayHttpResolver()
    api = http.Api(app, Logger(service="test"), title="T", version="1")

    @api.patch(
        "/things/{id}", summary="Change a thing", body=None, responses={200: None}, errors=[404]
    )
    def change(id: str) -> Any:
        return http.json_response(200, {"id": id})

    operation = next(op for op in api.operations if op.path == "/things/{id}")
    assert (operation.method, operation.operation_id) == ("PATCH", "change")
    assert operation.statuses() == [200, 404, 422, 503]
    openapi = next(op for op in api.operations if op.path == "/openapi.json")
    assert openapi.public
    assert openapi.statuses() == [200]


def logged(level: str) -> tuple[Logger, io.StringIO]:
    """A Powertools Logger as the kit's apps make it, writing to a buffer. (Powertools keeps
    the first handler of a service name: each call takes a new name.)"""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    name = f"test-{uuid.uuid4().hex}"
    return Logger(service=name, level=level, logger_handler=handler, **http.LOGGER_JSON), out


def test_logger_json_writes_lines_a_log_reader_parses() -> None:
    logger, out = logged("INFO")
    when = dt.datetime(2026, 11, 30, 9, 30, tzinfo=dt.UTC)
    # WHEN lines carry extra keys (one of a type JSON does not know), a message that is JSON
    # text, a client's lone surrogate
    logger.info("request", extra={"status": 200, "at": when, "error": KeyError("x")})
    logger.info('{"event": "paid", "cents": 1250}')
    logger.info("echo", extra={"path": "/notes/\ud800"})
    # THEN each line is JSON that is valid UTF-8, the values as a reader expects them
    lines = [json.loads(line) for line in out.getvalue().encode("utf-8").splitlines()]
    assert (lines[0]["message"], lines[0]["status"]) == ("request", 200)
    assert lines[0]["at"] == "2026-11-30T09:30:00Z"
    assert lines[0]["error"] == "'x'"  # str(), as Powertools' own encoder writes it
    assert lines[1]["message"] == {"event": "paid", "cents": 1250}
    assert lines[2]["path"] == "/notes/\ud800"


def notes_event(path: str) -> dict[str, Any]:
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "example.com"},
        "requestContext": {
            "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1", "sourceIp": "1.2.3.4"},
            "requestId": "abc",
            "stage": "$default",
        },
        "isBase64Encoded": False,
    }


@pytest.mark.parametrize(("level", "lines"), [("INFO", 1), ("WARNING", 0)])
def test_the_request_line_is_written_at_info_only(level: str, lines: int) -> None:
    # GIVEN an API whose logger writes INFO, or only WARNING and above
    logger, out = logged(level)
    app = APIGatewayHttpResolver()
    api = http.Api(app, logger, title="T", version="1")

    @api.get("/things/{id}", summary="Get a thing", responses={200: None}, database=False)
    def get_thing(id: str) -> Any:
        return http.json_response(200, {"id": id})

    url = "postgresql://nobody@127.0.0.1:1/none"  # never connected: no statement runs
    with using(Database(url, settings=Settings(url=url))):
        # localdev's stand-in has the attributes of Lambda's context, not Powertools' class
        response = app.resolve(notes_event("/things/7"), LambdaContext())  # type: ignore[arg-type]
    # WHEN a request is served, THEN its line is there at INFO, with what happened
    assert response["statusCode"] == 200
    written = [json.loads(line) for line in out.getvalue().splitlines()]
    assert len(written) == lines
    if written:
        line = written[0]
        assert (line["message"], line["method"], line["path"]) == ("request", "GET", "/things/7")
        assert line["status"] == 200
        assert line["duration_ms"] >= 0
