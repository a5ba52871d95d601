"""Opening connections: the target URL, retries with backoff and jitter, prepared statements.

`Connector.connect()` is the only place that opens a socket. It retries only what is
transient (refused, timed out, a compute waking, a server starting or shutting down) within
a deadline; authentication and configuration errors fail at once, except that a password
from a secret is fetched again once when the server rejects it (rotation).
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import psycopg
from psycopg.rows import dict_row

from ._dsn import DatabaseUrl, neon_defaults
from ._failures import is_auth_failure, is_transient
from ._psycopg_private import KitConnection
from ._secrets import fetch_url
from ._settings import Settings
from .errors import ConfigurationError, ConnectError

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.parameters.base import BaseProvider

logger = logging.getLogger("neonkit")

PREPARE_THRESHOLD = 5  # psycopg's default: a statement is prepared on its 5th run


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


@dataclass(frozen=True)
class Target:
    """Where to connect: the URL with defaults applied, and what kind of endpoint it is."""

    url: DatabaseUrl
    pooled: bool
    from_secret: bool


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
        # Jitter from the OS, not a seeded generator: SnapStart clones a generator's state
        # into every restored sandbox, and they would all retry in step.
        self.rng = rng or random.SystemRandom()
        self.attempts = 0  # connection attempts made, for tests and benchmarks
        self.current: Target | None = None  # what the open connection was made with

    def target(self, *, refresh_secret: bool = False) -> Target:
        """The URL to connect to, with defaults applied and pooler rules checked."""
        settings = self.settings
        if settings.url:
            url, source = DatabaseUrl.parse(settings.url), "DATABASE_URL"
        elif settings.secret:
            text = fetch_url(
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

    def connect(self, *, deadline: float | None = None) -> KitConnection:
        """Open a connection, retrying transient failures until the deadline (by default
        `connect_deadline` seconds from now; a clock value to share a budget)."""
        started = self.clock()
        if deadline is None:
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
                if not self.pause(delays, deadline):
                    elapsed = self.clock() - started
                    raise ConnectError(
                        f"could not connect to {target.url.host} within {elapsed:.1f}s "
                        f"({self.attempts} attempts): {message}"
                    ) from None
                logger.info("connect attempt failed, retrying: %s", message)

    def pause(self, delays: Iterator[float], deadline: float) -> bool:
        """Sleep the next backoff delay; False (without sleeping) if it would end past the
        deadline."""
        delay = next(delays)
        if self.clock() + delay >= deadline:
            return False
        self.sleep(delay)
        return True

    def _open(self, target: Target, *, timeout: int) -> KitConnection:
        settings = self.settings
        prepare = settings.prepare if settings.prepare is not None else not target.pooled
        conn = KitConnection.connect(
            target.url.with_params(connect_timeout=str(timeout)).conninfo(),
            autocommit=True,
            row_factory=dict_row,
            prepare_threshold=PREPARE_THRESHOLD if prepare else None,
            cursor_factory=psycopg.ClientCursor if settings.client_binding else psycopg.Cursor,
        )
        conn.query_timeout = settings.query_timeout
        allow_prepared_statements(conn)
        return conn


# Prepared statements, for the whole process: a pooler that rejects them turns them off.
_prepared_statements_off = threading.Event()


def turn_off_prepared_statements(conn: KitConnection) -> None:
    """A transaction-mode pooler the kit did not recognise rejected a prepared statement:
    no more of them in this process (said once, with what to set)."""
    if not _prepared_statements_off.is_set():
        _prepared_statements_off.set()
        logger.warning(
            "a connection pooler rejected a prepared statement: prepared statements are off "
            "for this process. Set NEONKIT_POOLED=on for a transaction-mode pooler (PgBouncer), "
            "or NEONKIT_PREPARE=off"
        )
    conn.prepare_threshold = None


def allow_prepared_statements(conn: KitConnection) -> None:
    """Apply the process's decision to a connection (a cheap check before each statement)."""
    if conn.prepare_threshold is not None and _prepared_statements_off.is_set():
        conn.prepare_threshold = None
