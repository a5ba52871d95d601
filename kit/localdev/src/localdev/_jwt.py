"""Bearer tokens checked as API Gateway's JWT authorizer checks them, and a local issuer.

A route with a JWT authorizer (the template's `DefinitionBody` security, or SAM's `Auth`) lets
a request through only with a token in its identity source (`Authorization`, with or without
`Bearer `) that is signed with RSA (RS256/384/512: API Gateway takes no other algorithm) by a
key of the issuer's JWKS named by the token's `kid`, whose `iss` is the issuer, whose `aud`
(or, without one, `client_id`) is one of the audiences, and whose `exp` is later than now and
`nbf` and `iat`, if present, not later. Anything else is `Unauthorized`: API Gateway answers
401 {"message":"Unauthorized"} and the function never runs. The claims reach the function as
API Gateway passes them: `requestContext.authorizer.jwt.claims`, every value a string.

The local issuer: `python -m localdev token --sub alice` signs a token with a key of its own,
kept in `.local/jwt-key.pem` (made on first use; `.local/` is never committed). localdev trusts
that key for the issuer LOCAL_ISSUER, so `--parameter-overrides AuthIssuer=https://localdev.invalid
AuthAudience=localdev` turns the authorizer on with no identity provider. Any other issuer's
keys come from its OIDC discovery document (`<issuer>/.well-known/openid-configuration`), as
API Gateway finds them, over the network.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

__all__ = [
    "ALGORITHMS",
    "LOCAL_AUDIENCE",
    "LOCAL_ISSUER",
    "JwtAuthorizer",
    "Keys",
    "Unauthorized",
    "check",
    "issue",
    "unauthorized_headers",
]

LOCAL_ISSUER = "https://localdev.invalid"  # .invalid: no real issuer can ever have this name
LOCAL_AUDIENCE = "localdev"
KEY_FILE = "jwt-key.pem"
ALGORITHMS = ("RS256", "RS384", "RS512")
_FETCH_TIMEOUT = 5.0  # seconds for the issuer's discovery document or keys
_REFETCH_AFTER = 300.0  # an unknown kid fetches the issuer's keys again after this many seconds


@dataclass(frozen=True)
class JwtAuthorizer:
    """One JWT authorizer of an HttpApi, as the template configures it."""

    name: str
    issuer: str
    audiences: tuple[str, ...]
    identity_source: str = "$request.header.Authorization"

    @property
    def header(self) -> str:
        """The (lower-case) request header holding the token."""
        prefix = "$request.header."
        if not self.identity_source.startswith(prefix):
            return "authorization"
        return self.identity_source[len(prefix) :].lower()


class Unauthorized(Exception):
    """No valid token: the reason goes to localdev's log; the client gets a bare 401."""


def unauthorized_headers(reason: Unauthorized | None = None) -> list[tuple[str, str]]:
    """The challenge that goes with the 401 (RFC 6750)."""
    if reason is None or str(reason) == "no token":
        return [("www-authenticate", "Bearer")]
    return [("www-authenticate", 'Bearer error="invalid_token"')]


def check(
    authorizer: JwtAuthorizer,
    headers: Mapping[str, str],
    keys: Keys,
    now: float | None = None,
) -> dict[str, str]:
    """The token's claims as API Gateway passes them on, or Unauthorized saying why not."""
    import jwt

    now = time.time() if now is None else now
    token = (headers.get(authorizer.header) or "").strip()
    if token[:7].lower() in ("bearer ", "bearer"):
        token = token[7:].strip()
    if not token:
        raise Unauthorized("no token")
    try:
        header = jwt.get_unverified_header(token)
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"not a JWT: {exc}") from None
    if header.get("alg") not in ALGORITHMS:
        raise Unauthorized(f"alg {header.get('alg')!r} is not one of {', '.join(ALGORITHMS)}")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise Unauthorized("the token names no key (kid)")
    key = keys.find(authorizer.issuer, kid)
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=list(ALGORITHMS),
            issuer=authorizer.issuer,
            # the times are checked below, against `now`
            options={
                "require": ["exp", "iss"],
                "verify_aud": False,
                "verify_exp": False,
                "verify_nbf": False,
                "verify_iat": False,
            },
        )
    except jwt.PyJWTError as exc:
        raise Unauthorized(f"invalid token: {exc}") from None
    _check_times(claims, now)
    if not _audience_matches(claims, authorizer.audiences):
        raise Unauthorized("neither aud nor client_id is an audience of this authorizer")
    return {name: _as_string(value) for name, value in claims.items()}


def _check_times(claims: Mapping[str, Any], now: float) -> None:
    """exp after now; nbf and iat, when given, not after it (no leeway)."""
    for name, must in (("exp", "expired"), ("nbf", "not yet valid"), ("iat", "issued later")):
        value = claims.get(name)
        if value is None and name != "exp":
            continue
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise Unauthorized(f"{name} is not a number")
        if (value <= now) if name == "exp" else (value > now):
            raise Unauthorized(f"the token is {must} ({name} {value})")


def _audience_matches(claims: Mapping[str, Any], audiences: tuple[str, ...]) -> bool:
    """`aud` (one or a list) when the token has one, else `client_id` (Cognito's access
    tokens), as API Gateway evaluates them."""
    aud = claims.get("aud")
    if aud is not None:
        given = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
        return any(isinstance(a, str) and a in audiences for a in given)
    return claims.get("client_id") in audiences


def _as_string(value: Any) -> str:
    """A claim as API Gateway renders it: text as is, a list as `[a b]`, JSON otherwise."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + " ".join(_as_string(item) for item in value) + "]"
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


# -- keys -------------------------------------------------------------------------------------


class Keys:
    """Public keys by issuer and kid: the local issuer's from its file, others' from their
    OIDC discovery document (fetched once, and again for an unknown kid after a while)."""

    def __init__(self, local_dir: Path) -> None:
        self.local_dir = local_dir
        self._fetched: dict[str, tuple[float, dict[str, Any]]] = {}
        self._lock = threading.Lock()

    def find(self, issuer: str, kid: str) -> Any:
        if issuer == LOCAL_ISSUER:
            path = self.local_dir / KEY_FILE
            if not path.is_file():
                raise Unauthorized(f"no local signing key yet ({path}): run `localdev token`")
            public = _load_private_key(path).public_key()
            if kid != key_id(public):
                raise Unauthorized(f"no key {kid!r} in the local issuer's keys")
            return public
        with self._lock:
            fetched_at, found = self._fetched.get(issuer, (0.0, {}))
            if kid not in found and time.monotonic() - fetched_at > _REFETCH_AFTER:
                found = self._fetch(issuer)
                self._fetched[issuer] = (time.monotonic(), found)
        if kid not in found:
            raise Unauthorized(f"no key {kid!r} in the JWKS of {issuer}")
        return found[kid]

    def _fetch(self, issuer: str) -> dict[str, Any]:
        import jwt

        try:
            discovery = _get_json(issuer.rstrip("/") + "/.well-known/openid-configuration")
            jwks = _get_json(str(discovery["jwks_uri"]))
            keys = jwt.PyJWKSet.from_dict(jwks).keys
        except (OSError, ValueError, KeyError, TypeError, jwt.PyJWTError) as exc:
            raise Unauthorized(f"cannot read the keys of {issuer}: {exc}") from None
        return {key.key_id: key.key for key in keys if key.key_id}


def _get_json(url: str) -> dict[str, Any]:
    import urllib.request  # only for another issuer's keys: not at every localdev start

    if not url.startswith(("https://", "http://")):
        raise ValueError(f"not an http(s) URL: {url!r}")
    with urllib.request.urlopen(url, timeout=_FETCH_TIMEOUT) as answer:  # noqa: S310 (checked)
        data = json.loads(answer.read())
    if not isinstance(data, dict):
        raise ValueError(f"{url} is not a JSON object")
    return data


# -- the local issuer ---------------------------------------------------------------------------


def issue(
    local_dir: Path,
    subject: str,
    *,
    audience: str = LOCAL_AUDIENCE,
    lifetime: int = 3600,
    claims: Mapping[str, Any] | None = None,
    now: float | None = None,
) -> str:
    """A token from the local issuer for `subject`, valid for `lifetime` seconds."""
    import jwt

    key = local_key(local_dir)
    issued = int(time.time() if now is None else now)
    payload = {
        "iss": LOCAL_ISSUER,
        "sub": subject,
        "aud": audience,
        "iat": issued,
        "nbf": issued,
        "exp": issued + lifetime,
        **(claims or {}),
    }
    return jwt.encode(payload, key, algorithm="RS256", headers={"kid": key_id(key.public_key())})


def local_key(local_dir: Path) -> RSAPrivateKey:
    """The local issuer's signing key, made on first use (readable by its owner only)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    path = local_dir / KEY_FILE
    if path.is_file():
        return _load_private_key(path)
    local_dir.mkdir(parents=True, exist_ok=True)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(pem)
    return key


def _load_private_key(path: Path) -> RSAPrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise Unauthorized(f"{path} is not an RSA key")
    return key


def key_id(public: RSAPublicKey) -> str:
    """The key's RFC 7638 thumbprint: its kid."""
    numbers = public.public_numbers()
    members = {"e": _b64(numbers.e), "kty": "RSA", "n": _b64(numbers.n)}
    canonical = json.dumps(members, separators=(",", ":"), sort_keys=True).encode()
    return _b64_bytes(hashlib.sha256(canonical).digest())


def _b64(number: int) -> str:
    return _b64_bytes(number.to_bytes((number.bit_length() + 7) // 8, "big"))


def _b64_bytes(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
