"""`neonkit.auth`: the caller read from the claims API Gateway verified, never from the client."""

from __future__ import annotations

from typing import Any

import pytest
from neonkit import UnauthorizedError, auth, http


def event(authorizer: Any) -> dict[str, Any]:
    return {"requestContext": {"authorizer": authorizer}, "headers": {"authorization": "x"}}


def test_claims_come_from_the_jwt_authorizer_only() -> None:
    assert auth.claims(event({"jwt": {"claims": {"sub": "a"}, "scopes": None}})) == {"sub": "a"}
    assert auth.claims(event({"lambda": {"sub": "a"}})) is None  # another authorizer's context
    assert auth.claims(event(None)) is None
    assert auth.claims({"headers": {"authorization": "Bearer x"}}) is None  # never the token


@pytest.mark.parametrize("required", [True, False])
def test_the_caller_is_the_subject(required: bool) -> None:
    assert auth.caller(event({"jwt": {"claims": {"sub": "u-1"}}}), required=required) == "u-1"


def test_no_claims_is_anonymous_unless_required() -> None:
    assert auth.caller({}, required=False) == auth.ANONYMOUS
    with pytest.raises(UnauthorizedError):
        auth.caller({}, required=True)


def test_an_unauthorized_error_is_a_401() -> None:
    answer = http.error_response(UnauthorizedError("no caller"), "req-1")
    assert answer.status == 401
    assert answer.body == {"error": "unauthorized", "message": "no caller", "request_id": "req-1"}
