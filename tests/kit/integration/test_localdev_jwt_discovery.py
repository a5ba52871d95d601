"""localdev finds another issuer's keys as API Gateway does: its OIDC discovery document, then
the JWKS it names (served here by a small HTTP server on loopback)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jwt
import pytest
from localdev._jwt import JwtAuthorizer, Keys, Unauthorized, check, key_id, local_key


@pytest.fixture
def issuer(tmp_path: Path) -> Iterator[tuple[str, Path, list[str]]]:
    """An identity provider: its URL, the folder of its signing key, the paths it was asked."""
    key = local_key(tmp_path / "idp")
    jwks = {"keys": [{**json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key())),
                      "kid": key_id(key.public_key()), "use": "sig", "alg": "RS256"}]}  # fmt: skip
    asked: list[str] = []

    class Provider(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            assert isinstance(self.server, ThreadingHTTPServer)  # (host, port): an AF_INET server
            base = f"http://127.0.0.1:{self.server.server_address[1]}"
            documents = {
                "/.well-known/openid-configuration": {"issuer": base, "jwks_uri": f"{base}/keys"},
                "/keys": jwks,
            }
            body = json.dumps(documents.get(self.path, {})).encode()
            self.send_response(200 if self.path in documents else 404)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Provider)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", tmp_path / "idp", asked
    server.shutdown()
    server.server_close()


def test_a_token_is_checked_against_the_issuers_published_keys(
    issuer: tuple[str, Path, list[str]], tmp_path: Path
) -> None:
    url, folder, asked = issuer
    authorizer = JwtAuthorizer("Jwt", url, ("api",))
    keys = Keys(tmp_path / "local")
    key = local_key(folder)
    kid = key_id(key.public_key())
    claims = {"iss": url, "sub": "carol", "aud": "api", "exp": 4_000_000_000}
    token = jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})

    assert check(authorizer, {"authorization": f"Bearer {token}"}, keys)["sub"] == "carol"
    assert check(authorizer, {"authorization": f"Bearer {token}"}, keys)["sub"] == "carol"
    assert asked == ["/.well-known/openid-configuration", "/keys"]  # fetched once

    # a key it does not publish is refused (and does not make it fetch again at once)
    other = jwt.encode(claims, local_key(tmp_path / "x"), algorithm="RS256", headers={"kid": "z"})
    with pytest.raises(Unauthorized, match="no key 'z'"):
        check(authorizer, {"authorization": f"Bearer {other}"}, keys)
    assert len(asked) == 2


def test_an_issuer_that_cannot_be_reached_refuses_every_token(tmp_path: Path) -> None:
    authorizer = JwtAuthorizer("Jwt", "http://127.0.0.1:1", ("api",))
    key = local_key(tmp_path)
    token = jwt.encode({"iss": "http://127.0.0.1:1", "exp": 4_000_000_000}, key,
                       algorithm="RS256", headers={"kid": "k"})  # fmt: skip
    with pytest.raises(Unauthorized, match="cannot read the keys"):
        check(authorizer, {"authorization": token}, Keys(tmp_path))
