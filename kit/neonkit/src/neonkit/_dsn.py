"""Connection strings: parsing, Neon's pooled and direct hosts, secure defaults, redaction.

A `DatabaseUrl` never shows its password: `str()`, `repr()` and every error it raises use the
redacted form. Only `conninfo()` returns the real string, to hand to libpq.
"""

from __future__ import annotations

import os
import re
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

from psycopg import conninfo as pg_conninfo

from .errors import ConfigurationError, redact

# ep-cool-darkness-123456[-pooler].us-east-2.aws.neon.tech
_NEON_HOST = re.compile(
    r"^(?P<endpoint>ep-[a-z0-9-]+?)(?P<pooler>-pooler)?(?P<domain>\.[a-z0-9.-]+\.neon\.tech)$"
)

# Where Linux distributions keep the system's CA bundle (Lambda's Amazon Linux 2023 first).
_CA_BUNDLES = (
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/ssl/cert.pem",
)


@dataclass(frozen=True)
class DatabaseUrl:
    """A parsed connection string (libpq keywords), safe to print."""

    params: Mapping[str, str]
    _secret: str | None = field(default=None, repr=False, compare=False)

    @classmethod
    def parse(cls, text: str, *, source: str = "DATABASE_URL") -> DatabaseUrl:
        """Parse a postgresql:// URL or a key=value string; errors never contain the password."""
        secret = _password_in(text)
        if not text.strip():
            raise ConfigurationError(f"{source} is empty")
        try:
            params = pg_conninfo.conninfo_to_dict(text)
        except Exception as exc:  # libpq's message can quote the string, password included
            detail = redact(str(exc).strip(), secret) if secret else "details hidden"
            raise ConfigurationError(
                f"{source} is not a valid PostgreSQL connection string ({detail}); expected "
                "postgresql://user:password@host/dbname?sslmode=require"
            ) from None
        clean = {key: str(value) for key, value in params.items() if value is not None}
        return cls(clean, clean.get("password") or secret)

    @property
    def host(self) -> str:
        return self.params.get("host", "")

    @property
    def password(self) -> str | None:
        return self.params.get("password")

    @property
    def is_neon(self) -> bool:
        return _NEON_HOST.match(self.host.lower()) is not None

    @property
    def is_neon_pooler(self) -> bool:
        match = _NEON_HOST.match(self.host.lower())
        return bool(match and match["pooler"])

    def pooled(self) -> DatabaseUrl:
        """The same database through Neon's pooler (`-pooler` host)."""
        return self._with_host(neon_host(self.host, pooled=True))

    def direct(self) -> DatabaseUrl:
        """The same database on Neon's direct endpoint (for migrations and pg_dump)."""
        return self._with_host(neon_host(self.host, pooled=False))

    def with_params(self, **params: str) -> DatabaseUrl:
        return DatabaseUrl({**self.params, **params}, self._secret)

    def with_defaults(self, **params: str) -> DatabaseUrl:
        """Add parameters the string does not set itself (the user's choice wins)."""
        return DatabaseUrl({**params, **self.params}, self._secret)

    def conninfo(self) -> str:
        """The real connection string, for libpq only: never log it."""
        return pg_conninfo.make_conninfo("", **self.params)

    def redacted(self) -> str:
        shown = {k: ("***" if k == "password" else v) for k, v in self.params.items()}
        return pg_conninfo.make_conninfo("", **shown)

    def redact(self, text: str) -> str:
        """Remove this URL's password from any text (an error message, a log line)."""
        return redact(text, self.password or self._secret)

    def __str__(self) -> str:
        return self.redacted()

    def __repr__(self) -> str:
        return f"DatabaseUrl({self.redacted()!r})"

    def _with_host(self, host: str) -> DatabaseUrl:
        return self.with_params(host=host)


def neon_host(host: str, *, pooled: bool) -> str:
    """Derive Neon's pooled host from the direct one, or the other way round."""
    match = _NEON_HOST.match(host.lower())
    if match is None:
        raise ConfigurationError(
            f"{host!r} is not a Neon endpoint host (ep-...neon.tech): cannot derive "
            f"its {'pooled' if pooled else 'direct'} form; give that URL explicitly"
        )
    suffix = "-pooler" if pooled else ""
    return f"{match['endpoint']}{suffix}{match['domain']}"


def neon_defaults(url: DatabaseUrl) -> dict[str, str]:
    """Secure, low-latency defaults for Neon hosts (see the README's Connection section)."""
    if not url.is_neon:
        return {}
    defaults = {
        # Encrypt, and check the certificate against the system's CA bundle when one exists.
        "sslmode": "require",
        # SCRAM bound to the TLS channel: no downgrade to an unbound password exchange.
        "channel_binding": "require",
        # TLS at once, without the SSLRequest round trip (libpq >= 17; Neon's proxy accepts it).
        "sslnegotiation": "direct",
    }
    bundle = system_ca_bundle()
    if bundle is not None:
        defaults.update(sslmode="verify-full", sslrootcert=bundle)
    return defaults


def system_ca_bundle() -> str | None:
    """The system's CA bundle, given to libpq by path: its bundled OpenSSL may look elsewhere."""
    candidates = [os.environ.get("SSL_CERT_FILE"), ssl.get_default_verify_paths().cafile]
    for path in [*candidates, *_CA_BUNDLES]:
        if path and os.path.isfile(path):
            return path
    return None


def _password_in(text: str) -> str | None:
    """Best-effort password extraction before parsing, so parse errors can be redacted."""
    if "://" in text:
        try:
            raw = urlsplit(text.strip()).password
        except ValueError:
            raw = None
        if raw:
            return unquote(raw)
        match = re.search(r"://[^:/@]*:([^@]*)@", text)
        return unquote(match.group(1)) if match else None
    match = re.search(r"password\s*=\s*('(?:[^'\\]|\\.)*'|\S+)", text)
    return match.group(1).strip("'") if match else None
