"""HTTP API payload 2.0: requests become events shaped like AWS's, results become responses."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from localdev._http_api import (
    API_ID,
    InvalidResponse,
    Request,
    build_event,
    error_response,
    new_request_id,
    to_response,
)
from localdev._routes import Match, Route

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "localdev"
ORDER = Route("POST", "/orders/{orderId}", "OrdersFunction")


def test_event_matches_the_shape_aws_sends() -> None:
    # GIVEN the request behind an event as API Gateway delivered it
    reference = json.loads((FIXTURES / "http_api_v2_event.json").read_text())
    request = Request(
        "POST",
        "/orders/o-17?expand=items&expand=customer&dry",
        [
            ("Accept", "application/json"),
            ("Content-Type", "application/json"),
            ("Host", "a1b2c3d4e5.execute-api.eu-west-1.amazonaws.com"),
            ("User-Agent", "example-client/1.0"),
            ("X-Custom", "first"),
            ("Cookie", "session=abc123; theme=dark"),
            ("X-Custom", "second"),
            ("X-Amzn-Trace-Id", "Root=1-65f0c0de-0a1b2c3d4e5f60718293a4b5"),
            ("Connection", "keep-alive"),
        ],
        b'{"quantity": 2}\n',
        source_ip="198.51.100.7",
        server_port=443,
    )
    # WHEN it is turned into an event
    event = build_event(
        request, Match(ORDER, {"orderId": "o-17"}), "Kx0k2hL6oAMEV9Q=", now=1710408413.0
    )
    # THEN it is AWS's event, but for what differs locally: the API's id and the scheme
    assert event["requestContext"].pop("apiId") == API_ID
    reference["requestContext"].pop("apiId")
    assert event["headers"].pop("x-forwarded-proto") == "http"
    reference["headers"].pop("x-forwarded-proto")
    assert event == reference


def make_event(
    target: str = "/", headers: list[tuple[str, str]] | None = None, body: bytes = b""
) -> dict[str, Any]:
    request = Request("GET", target, headers or [("Host", "localhost:3000")], body)
    return build_event(request, Match(Route("ANY", "$default", "Fn"), {}), new_request_id())


def test_minimal_event_leaves_out_what_is_absent() -> None:
    event = make_event("/")
    for absent in ("cookies", "queryStringParameters", "pathParameters", "body"):
        assert absent not in event
    assert event["isBase64Encoded"] is False
    assert event["routeKey"] == "$default"
    assert event["rawQueryString"] == ""
    assert event["requestContext"]["domainName"] == "localhost"
    assert event["requestContext"]["stage"] == "$default"


def test_query_values_are_decoded_raw_query_is_not() -> None:
    event = make_event("/search?q=caf%C3%A9+au+lait&tag=a&tag=b%2Cc&flag")
    assert event["rawQueryString"] == "q=caf%C3%A9+au+lait&tag=a&tag=b%2Cc&flag"
    assert event["queryStringParameters"] == {"q": "café au lait", "tag": "a,b,c", "flag": ""}


def test_headers_are_lower_cased_and_repeats_joined() -> None:
    event = make_event("/", [("X-Thing", "1"), ("x-thing", "2"), ("Host", "h"), ("Cookie", "a=1")])
    assert event["headers"]["x-thing"] == "1,2"
    assert "cookie" not in event["headers"]
    assert event["cookies"] == ["a=1"]


def test_several_cookie_headers_are_one_list() -> None:
    event = make_event("/", [("Cookie", "a=1; b=2"), ("Cookie", "c=3;")])
    assert event["cookies"] == ["a=1", "b=2", "c=3"]


@pytest.mark.parametrize(
    ("content_type", "as_text"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("text/plain", True),
        ("text/csv", True),
        ("application/xml", True),
        ("application/javascript", True),
        ("application/x-www-form-urlencoded", False),  # surprising, but what AWS does
        ("application/octet-stream", False),
        ("image/png", False),
        ("", False),  # no content type: base64
    ],
)
def test_body_is_text_only_for_text_types(content_type: str, as_text: bool) -> None:
    headers = [("Content-Type", content_type)] if content_type else []
    event = make_event("/", headers, b"a=1&b=2")
    assert event["isBase64Encoded"] is not as_text
    assert event["body"] == ("a=1&b=2" if as_text else base64.b64encode(b"a=1&b=2").decode())
    assert event["headers"]["content-length"] == "7"


def test_binary_in_a_text_type_is_sent_as_base64() -> None:
    event = make_event("/", [("Content-Type", "text/plain")], b"\xff\xfe")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == b"\xff\xfe"


def test_forwarded_for_is_appended_to() -> None:
    event = make_event("/", [("X-Forwarded-For", "203.0.113.9")])
    assert event["headers"]["x-forwarded-for"] == "203.0.113.9, 127.0.0.1"


def test_request_ids_look_like_api_gateways() -> None:
    ids = {new_request_id() for _ in range(50)}
    assert len(ids) == 50
    assert all(len(i) == 16 and i.endswith("=") for i in ids)


# --- responses ------------------------------------------------------------------------------


def test_structured_response() -> None:
    response = to_response(
        json.dumps(
            {
                "statusCode": 201,
                "headers": {"Content-Type": "application/json", "X-Count": 3},
                "multiValueHeaders": {"X-Multi": ["a", "b"]},
                "cookies": ["a=1; Path=/", "b=2"],
                "body": '{"id": 1}',
            }
        )
    )
    assert response.status == 201
    assert response.headers == [
        ("Content-Type", "application/json"),
        ("X-Count", "3"),
        ("X-Multi", "a"),
        ("X-Multi", "b"),
        ("set-cookie", "a=1; Path=/"),
        ("set-cookie", "b=2"),
    ]
    assert response.body == b'{"id": 1}'


def test_base64_body_is_decoded() -> None:
    payload = {
        "statusCode": 200,
        "body": base64.b64encode(b"\x89PNG").decode(),
        "isBase64Encoded": True,
    }
    assert to_response(json.dumps(payload)).body == b"\x89PNG"


def test_no_body_is_empty() -> None:
    response = to_response('{"statusCode": 204}')
    assert (response.status, response.body, response.headers) == (204, b"", [])


@pytest.mark.parametrize("payload", ['{"hello": "world"}', '"hello"', "[1, 2]", "null", "42"])
def test_anything_without_a_status_code_is_a_200_of_json(payload: str) -> None:
    response = to_response(payload)
    assert response.status == 200
    assert response.headers == [("content-type", "application/json")]
    assert response.body == payload.encode()


@pytest.mark.parametrize(
    "payload",
    [
        {"statusCode": "200"},
        {"statusCode": 99},
        {"statusCode": True},
        {"statusCode": 200, "body": {"not": "a string"}},
        {"statusCode": 200, "headers": ["x"]},
        {"statusCode": 200, "headers": {"x": {"y": 1}}},
        {"statusCode": 200, "multiValueHeaders": {"x": "y"}},
        {"statusCode": 200, "cookies": "a=1"},
        {"statusCode": 200, "body": "not base64!", "isBase64Encoded": True},
    ],
)
def test_invalid_responses_are_refused(payload: dict[str, object]) -> None:
    with pytest.raises(InvalidResponse):
        to_response(json.dumps(payload))


def test_api_gateway_own_errors() -> None:
    response = error_response(404, "Not Found", "abc=")
    assert response.status == 404
    assert response.body == b'{"message":"Not Found"}'
    assert ("apigw-requestid", "abc=") in response.headers
