"""The one place that reads the kit's configuration from the environment (and `.env` locally).

Every setting, its default and its reason is listed in `SETTINGS` and in the README.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from .errors import ConfigurationError

# name -> (default, meaning); the README's settings table mirrors this.
SETTINGS: dict[str, tuple[str, str]] = {
    "DATABASE_URL": ("", "connection string; Neon's pooled (-pooler) URL for functions"),
    "DATABASE_SECRET": ("", "Secrets Manager ARN/name or SSM parameter holding the URL"),
    "NEONKIT_POOLED": (
        "auto",
        "the URL is a transaction-mode pooler: auto (Neon -pooler host), on, off",
    ),
    "NEONKIT_PREPARE": ("auto", "server-side prepared statements: auto (off when pooled), on, off"),
    "NEONKIT_CLIENT_BINDING": ("off", "bind parameters client-side with libpq's escaping: on, off"),
    "NEONKIT_CONNECT_TIMEOUT": ("5", "seconds one connection attempt may take (libpq, at least 2)"),
    "NEONKIT_CONNECT_DEADLINE": ("10", "seconds all connection attempts together may take"),
    "NEONKIT_QUERY_TIMEOUT": ("10", "seconds to wait for a statement's answer before giving up"),
    "NEONKIT_IDLE_PING_AFTER": ("60", "idle seconds after which a cheap ping precedes a write"),
    "NEONKIT_SECRET_MAX_AGE": ("300", "seconds a fetched secret is cached"),
    "NEONKIT_MIGRATIONS_DIR": ("migrations", "folder of the SQL migrations"),
}


@dataclass(frozen=True)
class Settings:
    """Resolved configuration; `from_env()` builds it, tests build it directly."""

    url: str | None = None
    secret: str | None = None
    pooled: bool | None = None  # None: decide from the host name
    prepare: bool | None = None  # None: on for direct connections, off for pooled ones
    client_binding: bool = False
    connect_timeout: int = 5
    connect_deadline: float = 10.0
    query_timeout: float = 10.0
    idle_ping_after: float = 60.0
    secret_max_age: int = 300
    application_name: str | None = None
    migrations_dir: str = "migrations"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings: the process environment, then `.env` outside Lambda."""
        values = _environment() if env is None else dict(env)
        url = values.get("DATABASE_URL") or None
        secret = values.get("DATABASE_SECRET") or None
        return cls(
            url=url,
            secret=None if url else secret,
            pooled=_tristate(values, "NEONKIT_POOLED"),
            prepare=_tristate(values, "NEONKIT_PREPARE"),
            client_binding=bool(_tristate(values, "NEONKIT_CLIENT_BINDING")),
            connect_timeout=max(2, int(_number(values, "NEONKIT_CONNECT_TIMEOUT"))),
            connect_deadline=_number(values, "NEONKIT_CONNECT_DEADLINE"),
            query_timeout=_number(values, "NEONKIT_QUERY_TIMEOUT"),
            idle_ping_after=_number(values, "NEONKIT_IDLE_PING_AFTER"),
            secret_max_age=int(_number(values, "NEONKIT_SECRET_MAX_AGE")),
            application_name=(values.get("AWS_LAMBDA_FUNCTION_NAME") or None),
            migrations_dir=values.get("NEONKIT_MIGRATIONS_DIR") or "migrations",
        )

    def but(self, **changes: Any) -> Settings:
        return replace(self, **changes)


def in_lambda() -> bool:
    return "AWS_LAMBDA_FUNCTION_NAME" in os.environ


def _environment() -> dict[str, str]:
    """The process environment wins; `.env` fills gaps, and only outside Lambda."""
    values = dict(os.environ)
    if in_lambda():
        return values
    from dotenv import dotenv_values, find_dotenv

    path = find_dotenv(usecwd=True)
    if not path:
        return values
    from_file = {k: v for k, v in dotenv_values(path).items() if v is not None}
    if values.get("DATABASE_URL") or values.get("DATABASE_SECRET"):
        # The environment names the database: .env must not override that choice.
        from_file.pop("DATABASE_URL", None)
        from_file.pop("DATABASE_SECRET", None)
    return {**from_file, **values}


def _tristate(values: Mapping[str, str], name: str) -> bool | None:
    raw = (values.get(name) or SETTINGS[name][0]).strip().lower()
    if raw in ("on", "true", "1", "yes"):
        return True
    if raw in ("off", "false", "0", "no"):
        return False
    if raw == "auto":
        return None
    raise ConfigurationError(f"{name}={raw!r} is not one of: auto, on, off")


def _number(values: Mapping[str, str], name: str) -> float:
    raw = values.get(name) or SETTINGS[name][0]
    try:
        number = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a number") from None
    if number <= 0:
        raise ConfigurationError(f"{name}={raw!r} must be positive")
    return number
