"""The one place that reads the kit's configuration from the environment (and `.env` locally).

Each setting's default is written once, on its `Settings` field; `VARIABLES` says which
environment variable sets which field and how its text is read. An empty variable counts as
unset (`sam local invoke` passes `DATABASE_URL=""` for a variable the template leaves empty).
The README's settings table mirrors both.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigurationError


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. `from_env()` builds it; tests build it directly and derive
    variants with `dataclasses.replace(settings, query_timeout=2)`."""

    url: str | None = None
    secret: str | None = None  # used only when there is no url
    pooled: bool | None = None  # None: decide from the host name (a Neon -pooler host)
    prepare: bool | None = None  # None: on for direct connections, off for pooled ones
    client_binding: bool = False
    connect_timeout: int = 5  # libpq's minimum is 2
    connect_deadline: float = 10.0
    query_timeout: float = 10.0
    idle_ping_after: float = 60.0
    secret_max_age: int = 300
    application_name: str | None = None
    migrations_dir: str = "migrations"
    preconnect: bool | None = None  # None: only inside Lambda's own runtime (see Database)
    auth_issuer: str | None = None  # the gateway's JWT issuer: set, a request needs a caller

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings: the process environment, then `.env` outside Lambda."""
        values = _environment() if env is None else env
        changes: dict[str, Any] = {}
        for name, (field, read) in VARIABLES.items():
            raw = (values.get(name) or "").strip()
            if raw:  # empty means unset: the field keeps its default
                changes[field] = read(name, raw)
        if changes.get("url"):
            changes.pop("secret", None)  # DATABASE_URL wins over DATABASE_SECRET
        return cls(**changes)


def in_lambda() -> bool:
    """Inside a Lambda sandbox, or something imitating one (localdev, the tests)."""
    return bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))


def in_lambda_runtime() -> bool:
    """Inside Lambda's own runtime (or AWS's emulator of it): its runtime API is there."""
    return bool(os.environ.get("AWS_LAMBDA_RUNTIME_API"))


def _text(name: str, raw: str) -> str:
    return raw


def _tristate(name: str, raw: str) -> bool | None:
    word = raw.lower()
    if word in ("on", "true", "1", "yes"):
        return True
    if word in ("off", "false", "0", "no"):
        return False
    if word == "auto":
        return None
    raise ConfigurationError(f"{name}={raw!r} is not one of: auto, on, off")


def _switch(name: str, raw: str) -> bool:
    value = _tristate(name, raw)
    if value is None:
        raise ConfigurationError(f"{name}={raw!r} is not one of: on, off")
    return value


def _seconds(name: str, raw: str) -> float:
    try:
        number = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name}={raw!r} is not a number") from None
    if not number > 0:
        raise ConfigurationError(f"{name}={raw!r} must be positive")
    return number


def _whole_seconds(name: str, raw: str) -> int:
    return int(_seconds(name, raw))


def _connect_timeout(name: str, raw: str) -> int:
    return max(2, _whole_seconds(name, raw))  # libpq treats 1 as 2


# Environment variable -> (the Settings field it sets, how its text is read).
VARIABLES: dict[str, tuple[str, Callable[[str, str], Any]]] = {
    "DATABASE_URL": ("url", _text),
    "DATABASE_SECRET": ("secret", _text),
    "NEONKIT_POOLED": ("pooled", _tristate),
    "NEONKIT_PREPARE": ("prepare", _tristate),
    "NEONKIT_CLIENT_BINDING": ("client_binding", _switch),
    "NEONKIT_CONNECT_TIMEOUT": ("connect_timeout", _connect_timeout),
    "NEONKIT_CONNECT_DEADLINE": ("connect_deadline", _seconds),
    "NEONKIT_QUERY_TIMEOUT": ("query_timeout", _seconds),
    "NEONKIT_IDLE_PING_AFTER": ("idle_ping_after", _seconds),
    "NEONKIT_SECRET_MAX_AGE": ("secret_max_age", _whole_seconds),
    "NEONKIT_MIGRATIONS_DIR": ("migrations_dir", _text),
    "NEONKIT_PRECONNECT": ("preconnect", _tristate),
    "NEONKIT_AUTH_ISSUER": ("auth_issuer", _text),
    "AWS_LAMBDA_FUNCTION_NAME": ("application_name", _text),
}


def _environment() -> dict[str, str]:
    """The process environment wins; `.env` fills gaps, and only outside Lambda."""
    values = dict(os.environ)
    if in_lambda():
        return values
    from dotenv import dotenv_values, find_dotenv

    path = find_dotenv(usecwd=True)
    if not path:
        return values
    from_file = {k: v for k, v in dotenv_values(path).items() if v}
    if values.get("DATABASE_URL") or values.get("DATABASE_SECRET"):
        # The environment names the database: .env must not override that choice.
        from_file.pop("DATABASE_URL", None)
        from_file.pop("DATABASE_SECRET", None)
    # An empty variable in the environment is unset: .env may fill it.
    return {**from_file, **{k: v for k, v in values.items() if v}}
