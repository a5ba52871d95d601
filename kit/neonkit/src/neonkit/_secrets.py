"""The database URL from AWS Secrets Manager or SSM Parameter Store, through Powertools parameters.

Powertools caches each value for `max_age` seconds; `force=True` fetches again (after the
password was rotated). Tests pass their own `BaseProvider` subclass: no AWS, no moto.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from psycopg.conninfo import make_conninfo

from .errors import ConfigurationError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters.base import BaseProvider

# Field names seen in Neon, RDS and hand-made secrets, first match wins.
_URL_FIELDS = ("url", "uri", "DATABASE_URL", "database_url", "connectionString")
_FIELDS = {
    "user": ("username", "user"),
    "password": ("password",),
    "host": ("host", "hostname"),
    "port": ("port",),
    "dbname": ("dbname", "database", "db"),
}


def is_ssm_parameter(name: str) -> bool:
    return name.startswith("/") or name.startswith("arn:aws:ssm:")


def ssm_name(name: str) -> str:
    """SSM takes a parameter's name, or its ARN (arn:aws:ssm:...:parameter/name)."""
    if name.startswith("arn:aws:ssm:") and ":parameter/" in name:
        return "/" + name.split(":parameter/", 1)[1]
    return name


_providers: dict[str, BaseProvider] = {}  # one per kind and process: its cache must live on


def default_provider(name: str) -> BaseProvider:
    """Powertools' provider for this kind of secret (imports boto3, so only when needed)."""
    kind = "ssm" if is_ssm_parameter(name) else "secretsmanager"
    if kind not in _providers:
        from aws_lambda_powertools.utilities import parameters

        _providers[kind] = (
            parameters.SSMProvider() if kind == "ssm" else parameters.SecretsProvider()
        )
    return _providers[kind]


def fetch_url(
    name: str, *, max_age: int, force: bool = False, provider: BaseProvider | None = None
) -> str:
    """The connection string held by secret `name` (a URL, or JSON fields)."""
    provider = provider or default_provider(name)
    options: dict[str, Any] = {"decrypt": True} if is_ssm_parameter(name) else {}
    try:
        value = provider.get(ssm_name(name), max_age=max_age, force_fetch=force, **options)
    except Exception as exc:  # Powertools wraps boto3's errors; their text names no password
        raise ConfigurationError(
            f"could not read DATABASE_SECRET {name!r}: {type(exc).__name__}: {exc}"
        ) from None
    return url_from_secret(value, name=name)


def url_from_secret(value: object, *, name: str = "secret") -> str:
    """Accept a URL string, or JSON with a URL field or username/password/host/port/dbname."""
    if isinstance(value, bytes):
        value = value.decode()
    if isinstance(value, str):
        text = value.strip()
        if not text.startswith("{"):
            return text
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            raise ConfigurationError(
                f"{name!r} holds text that is neither a URL nor JSON"
            ) from None
    if not isinstance(value, dict):
        raise ConfigurationError(f"{name!r} holds a {type(value).__name__}, not a URL or object")
    for key in _URL_FIELDS:
        if isinstance(value.get(key), str):
            return str(value[key])
    found: dict[str, str] = {}
    for param, keys in _FIELDS.items():
        present = [key for key in keys if value.get(key) is not None]
        if present:
            found[param] = str(value[present[0]])
    missing = [p for p in ("user", "password", "host") if p not in found]
    if missing:
        fields = ", ".join(sorted(str(k) for k in value))
        raise ConfigurationError(
            f"{name!r} has no URL field and lacks {', '.join(missing)} (fields: {fields})"
        )
    found.setdefault("dbname", "neondb")
    return make_conninfo("", **found)
