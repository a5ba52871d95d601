"""Plain SQL migrations: files in `migrations/`, applied in name order, recorded with a checksum.

- Each file runs in its own transaction (or all pending files in one, `atomic=True`).
- A transaction-level advisory lock serialises runners: two at once apply each file once.
  It is released at COMMIT, so it also works through a transaction-mode pooler.
- A recorded file whose content changed is an error: migrations are history, add a new one.
- Given Neon's pooled URL, migrations run over the direct endpoint.

Run by hand: `python -m neonkit.migrations [status|apply] [--dir migrations]` (DATABASE_URL).
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from ._connector import Connector
from ._dsn import DatabaseUrl
from ._settings import Settings
from .errors import ConnectError, NeonKitError

__all__ = [
    "LOCK_KEY",
    "TABLE",
    "Migration",
    "MigrationError",
    "Status",
    "discover",
    "main",
    "migrate",
    "migration_url",
    "status",
]

logger = logging.getLogger("neonkit.migrations")

TABLE = "neonkit_migrations"
LOCK_KEY = 0x6E656F6E6B6974  # "neonkit": one lock for every runner of this database
_NAME = re.compile(r"^\d+[_-][\w.-]+\.sql$")

_CREATE_TABLE = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    name text PRIMARY KEY,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    duration_ms integer NOT NULL
)"""


class MigrationError(NeonKitError):
    """A migration failed, or the recorded history does not match the files."""


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


@dataclass(frozen=True)
class Status:
    name: str
    state: str  # applied | pending | changed | missing (recorded, file gone)
    applied_at: datetime | None = None


def discover(directory: str | Path) -> list[Migration]:
    """The migration files, in order; names must start with a number (0001_create_todos.sql)."""
    folder = Path(directory)
    if not folder.is_dir():
        raise MigrationError(f"no migrations folder at {folder}")
    files = sorted(folder.glob("*.sql"))
    bad = [f.name for f in files if not _NAME.match(f.name)]
    if bad:
        raise MigrationError(
            f"migration names must look like 0001_description.sql: {', '.join(bad)}"
        )
    return [Migration(f.name, f.read_text(encoding="utf-8")) for f in files]


def migration_url(url: str) -> DatabaseUrl:
    """Migrations need a session of their own: use Neon's direct endpoint for a pooled URL."""
    parsed = DatabaseUrl.parse(url)
    if parsed.is_neon_pooler:
        logger.info("using the direct endpoint for migrations instead of the pooler")
        return parsed.direct()
    return parsed


def status(
    url: str, directory: str | Path = "migrations", *, settings: Settings | None = None
) -> list[Status]:
    """Each file's state against the database's record. `settings`: the connect timeout and
    deadline (by default from the environment, like every entry point of the kit)."""
    migrations = discover(directory)
    target = migration_url(url)
    with _connect(target, settings) as conn:
        recorded = _recorded(conn)
    result = []
    for migration in migrations:
        row = recorded.pop(migration.name, None)
        if row is None:
            result.append(Status(migration.name, "pending"))
        elif row["checksum"] != migration.checksum:
            result.append(Status(migration.name, "changed", row["applied_at"]))
        else:
            result.append(Status(migration.name, "applied", row["applied_at"]))
    result += [Status(name, "missing", row["applied_at"]) for name, row in recorded.items()]
    return result


def migrate(
    url: str,
    directory: str | Path = "migrations",
    *,
    atomic: bool = False,
    settings: Settings | None = None,
) -> list[str]:
    """Apply pending migrations; returns the names applied by this call.

    `atomic=True` applies all pending files in one transaction: on failure the database is
    left exactly as it was (what a deploy wants). `settings` as for `status()`.
    """
    migrations = discover(directory)
    target = migration_url(url)
    applied: list[str] = []
    with _connect(target, settings) as conn:
        _check_history(_recorded(conn), migrations)
        if atomic:
            with conn.transaction():
                _lock(conn)
                done = _recorded(conn)
                applied = [m.name for m in migrations if _apply_one(conn, m, done)]
        else:
            for migration in migrations:
                with conn.transaction():
                    _lock(conn)
                    if _apply_one(conn, migration, _recorded(conn)):
                        applied.append(migration.name)
    return applied


def _apply_one(
    conn: psycopg.Connection[dict[str, Any]], m: Migration, done: dict[str, dict[str, Any]]
) -> bool:
    """Run one file unless it is recorded (maybe by a concurrent runner); True if it ran."""
    if m.name in done:
        _check_history({m.name: done[m.name]}, [m])
        return False
    started = time.monotonic()
    try:
        conn.execute(m.sql.encode())  # bytes: the file's % signs are not placeholders
    except psycopg.Error as exc:
        raise MigrationError(f"{m.name} failed: {_describe(exc, m.sql)}") from None
    duration_ms = int((time.monotonic() - started) * 1000)
    conn.execute(
        sql.SQL("INSERT INTO {} (name, checksum, duration_ms) VALUES (%s, %s, %s)").format(
            sql.Identifier(TABLE)
        ),
        [m.name, m.checksum, duration_ms],
    )
    logger.info("applied %s in %d ms", m.name, duration_ms)
    return True


def _check_history(recorded: dict[str, dict[str, Any]], migrations: Sequence[Migration]) -> None:
    changed = [
        m.name
        for m in migrations
        if m.name in recorded and recorded[m.name]["checksum"] != m.checksum
    ]
    if changed:
        raise MigrationError(
            f"applied migrations were edited since: {', '.join(changed)}. Restore them and "
            "put the change in a new migration file"
        )


def _recorded(conn: psycopg.Connection[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    with conn.transaction():
        _lock(conn)  # creating the table races too
        conn.execute(_CREATE_TABLE)
    applied = sql.SQL("SELECT name, checksum, applied_at FROM {}").format(sql.Identifier(TABLE))
    rows = conn.execute(applied).fetchall()
    return {str(row["name"]): row for row in rows}


def _lock(conn: psycopg.Connection[dict[str, Any]]) -> None:
    conn.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def _connect(target: DatabaseUrl, settings: Settings | None) -> psycopg.Connection[dict[str, Any]]:
    """A session of its own, with the kit's retries (a suspended compute wakes) and defaults."""
    base = settings or Settings.from_env()
    connector = Connector(
        replace(base, url=target.conninfo(), secret=None, pooled=False, prepare=False)
    )
    try:
        conn = connector.connect()
    except ConnectError as exc:
        raise MigrationError(f"cannot connect for migrations: {exc}") from None
    conn.query_timeout = None  # a migration may rightly take long: no client-side deadline
    return conn


def _describe(exc: psycopg.Error, text: str) -> str:
    """The server's message, with the line of the file it points at."""
    message = str(exc).strip().splitlines()[0]
    position = getattr(exc.diag, "statement_position", None)
    if position and position.isdigit():
        line = text[: int(position)].count("\n") + 1
        message += f" (line {line})"
    return message


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m neonkit.migrations")
    parser.add_argument("command", choices=["status", "apply"], nargs="?", default="status")
    parser.add_argument("--dir", default=None, help="migrations folder (NEONKIT_MIGRATIONS_DIR)")
    parser.add_argument(
        "--atomic", action="store_true", help="all pending files in one transaction"
    )
    args = parser.parse_args(argv)

    settings = Settings.from_env()
    if not settings.url:
        print("set DATABASE_URL (the direct endpoint is used for Neon)", file=sys.stderr)
        return 2
    directory = args.dir or settings.migrations_dir
    try:
        if args.command == "apply":
            names = migrate(settings.url, directory, atomic=args.atomic, settings=settings)
            print("\n".join(f"applied {n}" for n in names) or "nothing to apply")
        else:
            for entry in status(settings.url, directory, settings=settings):
                when = entry.applied_at.isoformat(timespec="seconds") if entry.applied_at else ""
                print(f"{entry.state:8} {entry.name} {when}".rstrip())
    except NeonKitError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
