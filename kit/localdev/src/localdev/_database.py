"""The database a local run gives its functions: yours if you named one, else an embedded one.

A function already configured with DATABASE_URL or DATABASE_SECRET (template or --env-vars)
keeps it. Otherwise DATABASE_URL as the kit reads it (the environment, then `.env`, by
neonkit's own rules) is passed on (a Neon branch, say). With none of these, an embedded
PostgreSQL serves the project: its files in `.local/pgdata`, its port kept in `.local/pgport`
so URLs stay the same between runs, the migrations (NEONKIT_MIGRATIONS_DIR, `migrations/` by
default) applied before the function runs.
Whoever starts it stops it; one that was already running is left running.
"""

from __future__ import annotations

import re
import shutil
import socket
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ._errors import SetupError
from ._postgres import EmbeddedPostgres, EmbeddedPostgresError, free_port

if TYPE_CHECKING:
    from neonkit import Settings

__all__ = ["DEFAULT_PORT", "LocalDatabase", "configured_url", "needs_local_database"]

T = TypeVar("T")
Migrate = Callable[[str, Path], list[str]]

DEFAULT_PORT = 54329
_ROLE = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_NAMED_BY = ("DATABASE_URL", "DATABASE_SECRET")


def needs_local_database(function_environment: Mapping[str, str]) -> bool:
    """Whether the function's own environment names no database."""
    return not any(function_environment.get(name) for name in _NAMED_BY)


def configured_url() -> str | None:
    """DATABASE_URL as the kit reads it (`neonkit.Settings`): the environment, then a `.env`
    found from the current folder up; None if neither names one."""
    return _settings().url


def _settings() -> Settings:
    from neonkit import ConfigurationError, Settings

    try:
        return Settings.from_env()
    except ConfigurationError as exc:
        raise SetupError(str(exc)) from None


@dataclass(frozen=True)
class LocalDatabase:
    """The project's embedded PostgreSQL."""

    project: Path

    @property
    def folder(self) -> Path:
        return self.project / ".local"

    @property
    def data_dir(self) -> Path:
        return self.folder / "pgdata"

    @property
    def port_file(self) -> Path:
        return self.folder / "pgport"

    @property
    def migrations_dir(self) -> Path:
        """NEONKIT_MIGRATIONS_DIR (default `migrations`), relative to the project."""
        return self.project / _settings().migrations_dir

    def server(self) -> EmbeddedPostgres:
        return EmbeddedPostgres(self.data_dir, self._port())

    @property
    def url(self) -> str:
        return self.server().url

    def functions_url(self, role: str | None = None) -> str:
        """The URL the functions get: the owner's, or with `role` every session runs as that
        role (`SET ROLE` at connect), so that row-level security binds them as it does once
        deployed under a role of their own. Migrations keep the owner's URL."""
        if role is None:
            return self.url
        if not _ROLE.match(role):
            raise SetupError(f"--db-role {role!r} is not a plain role name")
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            found = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [role]).fetchone()
        if found is None:
            raise SetupError(
                f"--db-role {role}: no such role in the local database (do your migrations "
                "create it?)"
            )
        return psycopg.conninfo.make_conninfo(self.url, options=f"-c role={role}")

    def is_running(self) -> bool:
        server = self.server()
        return server.is_initialised() and _call(server.is_running)

    def start(self) -> bool:
        """Start the server if it is not running; True if this call started it."""
        server = self.server()
        if server.is_initialised() and _call(server.is_running):
            return False
        if not _port_is_free(server.port):  # taken since we chose it: choose again
            self.port_file.unlink(missing_ok=True)
            server = self.server()
        try:
            server.start()
        except EmbeddedPostgresError as exc:
            if _port_is_free(server.port):
                raise SetupError(str(exc)) from None
            # another server took the port between the check and the start: choose again, once
            self.port_file.unlink(missing_ok=True)
            _call(self.server().start)
        return True

    def stop(self) -> None:
        _call(self.server().stop)

    def reset(self) -> None:
        """Stop the server and delete its data (the next start begins empty)."""
        self.stop()
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def migrate(self, search_path: Iterable[Path] = ()) -> list[str]:
        """Apply the project's pending migrations; the names applied.

        `neonkit` lives in the template's layer: `search_path` (the layers' python folders)
        is where to find it if it is not importable already.
        """
        if not self.migrations_dir.is_dir():
            return []
        migrate = _neonkit_migrate(search_path)
        try:
            return migrate(self.url, self.migrations_dir)
        except Exception as exc:  # neonkit's MigrationError says which file and why
            raise SetupError(f"migrations failed: {exc}") from None

    def _port(self) -> int:
        """The port kept in `.local/pgport`; chosen (and kept) the first time."""
        try:
            return int(self.port_file.read_text().strip())
        except (OSError, ValueError):
            pass
        port = DEFAULT_PORT if _port_is_free(DEFAULT_PORT) else free_port()
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port_file.write_text(f"{port}\n")
        return port


def _neonkit_migrate(search_path: Iterable[Path]) -> Migrate:
    try:
        from neonkit.migrations import migrate
    except ImportError:
        extra = [str(p) for p in search_path if str(p) not in sys.path]
        sys.path.extend(extra)
        try:
            from neonkit.migrations import migrate
        except ImportError as exc:
            raise SetupError(
                f"cannot apply the migrations: neonkit.migrations is not importable ({exc}); "
                "it comes with the template's layer (layer/python)"
            ) from None
    return migrate


def _call(action: Callable[[], T]) -> T:
    try:
        return action()
    except EmbeddedPostgresError as exc:
        raise SetupError(str(exc)) from None


def _port_is_free(port: int) -> bool:
    """Nothing listens there (connections of a stopped server in TIME_WAIT do not count:
    PostgreSQL sets SO_REUSEADDR too)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True
