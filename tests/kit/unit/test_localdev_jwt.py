"""localdev's JWT authorizer: bearer tokens checked as API Gateway checks them (RSA signature by
a key of the issuer's JWKS, iss, aud or client_id, exp, nbf, iat), the local issuer, and which
routes of a template ask for a token."""

from __future__ import annotations

import base64
import json
import textwrap
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from localdev._cli import _authorize
from localdev._jwt import (
    KEY_FILE,
    LOCAL_AUDIENCE,
    LOCAL_ISSUER,
    JwtAuthorizer,
    Keys,
    Unauthorized,
    check,
    issue,
    key_id,
    local_key,
)
from localdev._template import Template

NOW = 1_800_000_000
LOCAL = JwtAuthorizer("Jwt", LOCAL_ISSUER, (LOCAL_AUDIENCE, "other-client"))


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    local_key(tmp_path)
    return Keys(tmp_path)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def signed(folder: Path, **claims: Any) -> str:
    """A token of the local issuer's key with exactly these claims."""
    key = local_key(folder)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": key_id(key.public_key())})


def valid(**changes: Any) -> dict[str, Any]:
    claims = {"iss": LOCAL_ISSUER, "sub": "alice", "aud": LOCAL_AUDIENCE, "iat": NOW - 10}
    claims.update(exp=NOW + 60, nbf=NOW - 10)
    return {**claims, **changes}


def test_a_token_of_the_local_issuer_passes_and_its_claims_are_strings(
    keys: Keys, tmp_path: Path
) -> None:
    token = issue(tmp_path, "alice", claims={"groups": ["a", "b"], "admin": False}, now=NOW)
    claims = check(LOCAL, bearer(token), keys, now=NOW + 1)
    assert claims["sub"] == "alice"
    assert claims["iss"] == LOCAL_ISSUER
    assert claims["exp"] == str(NOW + 3600)  # as API Gateway passes them: strings
    assert claims["groups"] == "[a b]"
    assert claims["admin"] == "false"
    assert check(LOCAL, {"authorization": token}, keys, now=NOW + 1) == claims  # no "Bearer"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        (valid(exp=NOW - 1), "expired"),
        (valid(nbf=NOW + 60), "not yet valid"),
        (valid(iat=NOW + 60), "issued later"),
        (valid(iss="https://another.example.com"), "Invalid issuer"),
        (valid(aud="someone-else"), "audience"),
        (valid(aud=["x", "y"]), "audience"),
        ({k: v for k, v in valid().items() if k != "exp"}, "exp"),
    ],
    ids=[
        "expired",
        "not before",
        "issued in the future",
        "another issuer",
        "another audience",
        "no audience of ours",
        "no expiry",
    ],
)
def test_a_bad_claim_is_refused(
    claims: dict[str, Any], reason: str, keys: Keys, tmp_path: Path
) -> None:
    with pytest.raises(Unauthorized, match=reason):
        check(LOCAL, bearer(signed(tmp_path, **claims)), keys, now=NOW)


def test_client_id_counts_when_there_is_no_aud(keys: Keys, tmp_path: Path) -> None:
    claims = {k: v for k, v in valid(client_id="other-client").items() if k != "aud"}
    assert check(LOCAL, bearer(signed(tmp_path, **claims)), keys, now=NOW)["sub"] == "alice"


def test_a_token_signed_by_another_key_is_refused(keys: Keys, tmp_path: Path) -> None:
    # GIVEN a token signed by another key that claims the local key's kid
    elsewhere = tmp_path / "elsewhere"
    forged = jwt.encode(
        valid(), local_key(elsewhere), algorithm="RS256",
        headers={"kid": key_id(local_key(tmp_path).public_key())},
    )  # fmt: skip
    with pytest.raises(Unauthorized, match="Signature verification failed"):
        check(LOCAL, bearer(forged), keys, now=NOW)
    # AND a token whose signature was changed
    head, body, signature = signed(tmp_path, **valid()).split(".")
    tampered = f"{head}.{body}.{signature[::-1]}"
    with pytest.raises(Unauthorized):
        check(LOCAL, bearer(tampered), keys, now=NOW)


def b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_alg_none_and_hmac_are_refused(keys: Keys, tmp_path: Path) -> None:
    kid = key_id(local_key(tmp_path).public_key())
    unsigned = f"{b64({'alg': 'none', 'kid': kid})}.{b64(valid())}."
    with pytest.raises(Unauthorized, match="alg 'none'"):
        check(LOCAL, bearer(unsigned), keys, now=NOW)
    # the public key used as an HMAC secret: the classic confusion
    public_pem = (tmp_path / KEY_FILE).read_bytes()
    hmac = f"{b64({'alg': 'HS256', 'kid': kid})}.{b64(valid())}.{b64({'x': public_pem[:8].hex()})}"
    with pytest.raises(Unauthorized, match="alg 'HS256'"):
        check(LOCAL, bearer(hmac), keys, now=NOW)


@pytest.mark.parametrize("header", [{}, {"authorization": ""}, {"authorization": "Bearer "}])
def test_no_token_is_refused(header: dict[str, str], keys: Keys) -> None:
    with pytest.raises(Unauthorized, match="no token"):
        check(LOCAL, header, keys, now=NOW)


@pytest.mark.parametrize("token", ["x", "a.b.c", "Basic dXNlcjpwYXNz"])
def test_what_is_not_a_jwt_is_refused(token: str, keys: Keys) -> None:
    with pytest.raises(Unauthorized):
        check(LOCAL, {"authorization": token}, keys, now=NOW)


def test_an_unknown_kid_is_refused(keys: Keys, tmp_path: Path) -> None:
    token = jwt.encode(valid(), local_key(tmp_path), algorithm="RS256", headers={"kid": "k9"})
    with pytest.raises(Unauthorized, match="no key 'k9'"):
        check(LOCAL, bearer(token), keys, now=NOW)


def test_without_a_local_key_nothing_passes(tmp_path: Path) -> None:
    token = signed(tmp_path / "made", **valid())
    with pytest.raises(Unauthorized, match="no local signing key"):
        check(LOCAL, bearer(token), Keys(tmp_path / "empty"), now=NOW)


def test_the_local_key_is_made_once_and_private(tmp_path: Path) -> None:
    first = local_key(tmp_path)
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600
    assert key_id(local_key(tmp_path).public_key()) == key_id(first.public_key())


def test_a_fresh_token_lasts_its_lifetime(keys: Keys, tmp_path: Path) -> None:
    token = issue(tmp_path, "bob", lifetime=60)
    assert check(LOCAL, bearer(token), keys)["sub"] == "bob"
    with pytest.raises(Unauthorized, match="expired"):
        check(LOCAL, bearer(token), keys, now=time.time() + 61)


# -- which routes ask for a token -------------------------------------------------------------

TEMPLATE = """
    Transform: AWS::Serverless-2016-10-31
    Parameters:
      AuthIssuer: {Type: String, Default: ""}
      AuthAudience: {Type: String, Default: ""}
    Conditions:
      AuthOn: !Not [!Equals [!Ref AuthIssuer, ""]]
    Resources:
      Api:
        Type: AWS::Serverless::HttpApi
        Properties:
          DefinitionBody:
            openapi: "3.0.1"
            info: {title: t, version: "1"}
            paths:
              /{proxy+}:
                x-amazon-apigateway-any-method:
                  security: !If [AuthOn, [{Jwt: []}], !Ref AWS::NoValue]
            components: !If
              - AuthOn
              - securitySchemes:
                  Jwt:
                    type: oauth2
                    x-amazon-apigateway-authorizer:
                      type: jwt
                      identitySource: $request.header.Authorization
                      jwtConfiguration:
                        issuer: !Ref AuthIssuer
                        audience: !Split [",", !Ref AuthAudience]
              - !Ref AWS::NoValue
      Shorthand:
        Type: AWS::Serverless::HttpApi
        Properties:
          Auth:
            DefaultAuthorizer: Oidc
            Authorizers:
              Oidc:
                IdentitySource: $request.header.X-Token
                JwtConfiguration: {issuer: "https://idp.example.com", audience: [app]}
      Fn:
        Type: AWS::Serverless::Function
        Properties:
          CodeUri: src/
          Handler: app.handler
          Runtime: python3.13
          Events:
            All: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: "/{proxy+}", Method: ANY}}
            Doc: {Type: HttpApi, Properties: {ApiId: !Ref Api, Path: /openapi.json, Method: GET}}
            Guarded: {Type: HttpApi, Properties: {ApiId: !Ref Shorthand, Path: /a, Method: GET}}
            Open:
              Type: HttpApi
              Properties: {ApiId: !Ref Shorthand, Path: /b, Method: GET, Auth: {Authorizer: NONE}}
"""


def routes(tmp_path: Path, overrides: dict[str, str] | None = None) -> dict[str, Any]:
    (tmp_path / "src").mkdir(exist_ok=True)
    path = tmp_path / "template.yaml"
    path.write_text(textwrap.dedent(TEMPLATE))
    function = Template.load(path, overrides).function("Fn")
    return {route.event_id: route.authorizer for route in function.routes}


def test_with_the_parameters_empty_no_route_of_the_conditional_api_asks_for_a_token(
    tmp_path: Path,
) -> None:
    found = routes(tmp_path)
    assert (found["All"], found["Doc"]) == (None, None)
    assert found["Guarded"] == JwtAuthorizer(
        "Oidc", "https://idp.example.com", ("app",), "$request.header.X-Token"
    )
    assert found["Guarded"].header == "x-token"
    assert found["Open"] is None


def test_with_an_issuer_the_catch_all_asks_for_one_and_the_document_does_not(
    tmp_path: Path,
) -> None:
    found = routes(tmp_path, {"AuthIssuer": LOCAL_ISSUER, "AuthAudience": "a,b"})
    assert found["All"] == JwtAuthorizer("Jwt", LOCAL_ISSUER, ("a", "b"))
    assert found["Doc"] is None


def test_invoke_checks_the_events_token_and_replaces_its_claims(tmp_path: Path, keys: Keys) -> None:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "template.yaml").write_text(textwrap.dedent(TEMPLATE))
    overrides = {"AuthIssuer": LOCAL_ISSUER, "AuthAudience": LOCAL_AUDIENCE}
    function = Template.load(tmp_path / "template.yaml", overrides).function("Fn")
    planted = {"jwt": {"claims": {"sub": "mallory"}, "scopes": None}}
    event: dict[str, Any] = {
        "routeKey": "ANY /{proxy+}",
        "headers": {},
        "requestContext": {"authorizer": planted},
    }

    assert isinstance(_authorize(function, event, keys), Unauthorized)  # claims alone: no

    event["headers"] = {"Authorization": f"Bearer {issue(tmp_path, 'alice')}"}
    assert _authorize(function, event, keys) is None
    assert event["requestContext"]["authorizer"]["jwt"]["claims"]["sub"] == "alice"
    # an event of an open route is left as it is
    other = {"routeKey": "GET /openapi.json", "headers": {}}
    assert _authorize(function, other, keys) is None
    assert "requestContext" not in other
