"""Opening connections: the target URL, retries with backoff and jitter, and liveness checks.

`Connector.connect()` is the only place that opens a socket. It retries only what is
transient (refused, timed out, a compute waking, a server starting or shutting down) within
a deadline; authentication and configuration errors fail at once, except that a password
from a secret is fetched again once when the server rejects it (rotation).
"""

from __future__ import annotations

import logging
import math
import random
import select
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg.rows import DictRow, dict_row

from . import _secrets as secrets
from ._dsn import DatabaseUrl, neon_defaults
from ._settings import Settings
from .errors import ConfigurationError, ConnectError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters.base import BaseProvider

logger = logging.getLogger("neonkit")

# Lower-case fragments of libpq/PgBouncer/Neon messages for failures that pass with time.
_TRANSIENT = (
    "connection refused",
    "timeout expired",
    "timed out",
    "could not connect to server",
    "could not receive data",
    "could not send",
    "server closed the connection unexpectedly",
    "connection reset",
    "no route to host",
    "network is unreachable",
    "temporary failure in name resolution",
    "the database system is starting up",
    "the database system is shutting down",
    "the database system is in recovery mode",
    "terminating connection",
    "couldn't connect to compute node",
    "could not wake",
    "compute is starting",
    "too many clients",
    "too many connections",
    "no more connections allowed",
    "pgbouncer cannot connect to server",
    "server login has been failing",
    "query_wait_timeout",
)
# Checked first: these never pass by waiting.
_PERMANENT = (
    "password authentication failed",
    "authentication failed",
    "no pg_hba.conf entry",
    "does not exist",
    "endpoint is disabled",
    "endpoint id is not specified",
    "unsupported startup parameter",
    "invalid",
    "certificate",
    "channel binding",
    "does not support ssl",
)


def is_transient(exc: BaseException) -> bool:
    """Whether a failed connection attempt is worth another try."""
    text = str(exc).lower()
    if any(fragment in text for fragment in _PERMANENT):
        return False
    return any(fragment in text for fragment in _TRANSIENT)


def is_auth_failure(exc: BaseException) -> bool:
    return "password authentication failed" in str(exc).lower()


class KitConnection(psycopg.Connection[DictRow]):
    """A psycopg connection whose every wait is bounded by `query_timeout` seconds."""

    query_timeout: float | None = None
    poller: select.poll | None = None  # watches the socket for a hang-up between statements

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        return super().wait(gen, interval, self.query_timeout if timeout is None else timeout)


def looks_dead(conn: KitConnection) -> bool:
    """True when the server already hung up: an idle healthy socket has nothing to read.

    Catches a terminated backend or a restarted pooler before a statement is sent (no round
    trip, one poll() call); a silently dropped connection still needs a ping.
    """
    if conn.closed or conn.broken:
        return True
    if conn.poller is None:
        conn.poller = select.poll()
        conn.poller.register(conn.fileno(), select.POLLIN)
    try:
        return bool(conn.poller.poll(0))
    except (OSError, ValueError):
        return True


@dataclass(frozen=True)
class Backoff:
    """Exponential backoff with jitter: each delay in [d/2, d], d doubling up to `cap`."""

    base: float = 0.1
    cap: float = 2.0

    def delays(self, rng: random.Random) -> Iterator[float]:
        attempt = 0
        while True:
            ceiling = min(self.cap, self.base * 2**attempt)
            yield ceiling / 2 + rng.uniform(0, ceiling / 2)
            attempt += 1


class Connector:
    """Knows where the database is and how to open a connection to it."""

    def __init__(
        self,
        settings: Settings,
        *,
        secret_provider: BaseProvider | None = None,
        backoff: Backoff = Backoff(),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.secret_provider = secret_provider
        self.backoff = backoff
        self.sleep = sleep
        self.clock = clock
        self.rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
        self.attempts = 0  # connection attempts made, for tests and benchmarks
        self.current: Target | None = None  # what the open connection was made with

    def target(self, *, refresh_secret: bool = False) -> Target:
        """The URL to connect to, with defaults applied and pooler rules checked."""
        settings = self.settings
        if settings.url:
            url, source = DatabaseUrl.parse(settings.url), "DATABASE_URL"
        elif settings.secret:
            text = secrets.fetch_url(
                settings.secret,
                max_age=settings.secret_max_age,
                force=refresh_secret,
                provider=self.secret_provider,
            )
            url, source = DatabaseUrl.parse(text, source="DATABASE_SECRET"), "DATABASE_SECRET"
        else:
            raise ConfigurationError(
                "no database configured: set DATABASE_URL (or DATABASE_SECRET in AWS); "
                "locally, `make dev` starts an embedded PostgreSQL for you"
            )
        pooled = url.is_neon_pooler if settings.pooled is None else settings.pooled
        if pooled and "options" in url.params:
            raise ConfigurationError(
                f"{source} points at a transaction-mode pooler and sets startup 'options' "
                f"({url.params['options']!r}); the pooler refuses them ('unsupported startup "
                "parameter: options'). Set per-transaction values with "
                "db.transaction(statement_timeout_ms=...) (SET LOCAL), set role defaults with "
                "ALTER ROLE ... SET, or use the direct (non-pooler) URL."
            )
        url = url.with_defaults(**neon_defaults(url))
        if settings.application_name:
            url = url.with_defaults(application_name=settings.application_name[:63])
        return Target(url, pooled=pooled, from_secret=source == "DATABASE_SECRET")

    def connect(self) -> KitConnection:
        """Open a connection, retrying transient failures until the deadline."""
        started = self.clock()
        deadline = started + self.settings.connect_deadline
        target = self.target()
        delays = self.backoff.delays(self.rng)
        refreshed = False
        while True:
            self.attempts += 1
            remaining = deadline - self.clock()
            try:
                conn = self._open(
                    target, timeout=max(2, min(self.settings.connect_timeout, math.ceil(remaining)))
                )
                self.current = target
                return conn
            except psycopg.Error as exc:
                message = target.url.redact(str(exc).strip())
                if is_auth_failure(exc) and target.from_secret and not refreshed:
                    logger.warning("password rejected; fetching the secret again")
                    target, refreshed = self.target(refresh_secret=True), True
                    continue
                if not is_transient(exc):
                    raise ConnectError(f"cannot connect to {target.url.host}: {message}") from None
                delay = next(delays)
                if self.clock() + delay >= deadline:
                    elapsed = self.clock() - started
                    raise ConnectError(
                        f"could not connect to {target.url.host} within {elapsed:.1f}s "
                        f"({self.attempts} attempts): {message}"
                    ) from None
                logger.info("connect attempt failed, retrying in %.2fs: %s", delay, message)
                self.sleep(delay)

    def _open(self, target: Target, *, timeout: int) -> KitConnection:
        settings = self.settings
        prepare = settings.prepare if settings.prepare is not None else not target.pooled
        conn = KitConnection.connect(
            target.url.with_params(connect_timeout=str(timeout)).conninfo(),
            autocommit=True,
            row_factory=dict_row,
            prepare_threshold=5 if prepare else None,
            cursor_factory=psycopg.ClientCursor if settings.client_binding else psycopg.Cursor,
        )
        conn.query_timeout = settings.query_timeout
        return conn


@dataclass(frozen=True)
class Target:
    """Where to connect: the URL with defaults applied, and what kind of endpoint it is."""

    url: DatabaseUrl
    pooled: bool
    from_secret: bool
