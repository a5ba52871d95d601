"""A real PgBouncer in transaction mode in front of a test PostgreSQL, like Neon's `-pooler`.

    with PgBouncer(direct_url, pool_size=1) as bouncer:
        psycopg.connect(bouncer.url)   # the same database, through the pooler
        bouncer.restart()              # every client and server connection dropped

Everything (configuration, auth_file, log, pid file) lives in a temporary folder. As root,
PgBouncer runs in a user namespace as an unprivileged user, because it refuses to run as root.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import pytest
from psycopg import conninfo

from .._postgres import as_unprivileged, free_port

MISSING = "PgBouncer not installed: apt-get install -y pgbouncer"
REQUIRE_ENV = "NEONKIT_REQUIRE_PGBOUNCER"  # CI sets it to 1: a missing PgBouncer fails the run

# Client-side TLS settings that describe the upstream server, not PgBouncer.
_UPSTREAM_ONLY = ("sslmode", "sslrootcert", "sslcert", "sslkey", "sslnegotiation",
                  "channel_binding", "target_session_attrs")  # fmt: skip


class PgBouncerError(RuntimeError):
    """PgBouncer could not start; the message carries the tail of its log."""


def pgbouncer_binary() -> str | None:
    """The pgbouncer executable (PATH, then the sbin folders distributions use), or None."""
    found = shutil.which("pgbouncer")
    if found:
        return found
    for folder in ("/usr/sbin", "/usr/local/sbin", "/usr/bin"):
        candidate = Path(folder) / "pgbouncer"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    return None


def require_pgbouncer() -> str:
    """The binary; else skip the test with the reason, or fail it where PgBouncer is required."""
    binary = pgbouncer_binary()
    if binary is not None:
        return binary
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{MISSING} ({REQUIRE_ENV}=1)", pytrace=False)
    pytest.skip(MISSING)


class PgBouncer:
    """One PgBouncer process in transaction pool mode, listening on 127.0.0.1 only."""

    def __init__(
        self,
        upstream_url: str,
        *,
        pool_size: int = 10,
        max_client_conn: int = 500,
        query_wait_timeout: int = 30,
        server_reset_query: str = "DISCARD ALL",
        server_reset_query_always: bool = False,
        server_login_retry: int = 1,
        extra: dict[str, str] | None = None,
        binary: str | None = None,
    ) -> None:
        found = binary or pgbouncer_binary()
        if found is None:
            raise PgBouncerError(MISSING)
        self.binary = found
        self.upstream = conninfo.conninfo_to_dict(upstream_url)
        self.user = str(self.upstream.get("user") or "postgres")
        self.port = free_port()
        self.folder = Path(tempfile.mkdtemp(prefix="neonkit-pgbouncer-"))
        self.config = self.folder / "pgbouncer.ini"
        self.log_file = self.folder / "pgbouncer.log"
        self._stderr = self.folder / "stderr.log"
        self._process: subprocess.Popen[bytes] | None = None
        settings = {
            "listen_addr": "127.0.0.1",
            "listen_port": str(self.port),
            "unix_socket_dir": "",
            "auth_type": "trust",
            "auth_file": str(self.folder / "userlist.txt"),
            "admin_users": self.user,
            "pool_mode": "transaction",
            "default_pool_size": str(pool_size),
            "min_pool_size": "0",
            "reserve_pool_size": "0",
            "max_client_conn": str(max_client_conn),
            "query_wait_timeout": str(query_wait_timeout),
            "server_reset_query": server_reset_query,
            "server_reset_query_always": "1" if server_reset_query_always else "0",
            "server_login_retry": str(server_login_retry),
            "server_check_delay": "0",  # check an idle server connection before reusing it
            "logfile": str(self.log_file),
            "pidfile": str(self.folder / "pgbouncer.pid"),
            **({"server_tls_sslmode": "require"} if self._upstream_tls() else {}),
            **(extra or {}),
        }
        self._write_files(settings)

    # -- addresses -----------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The upstream database, through PgBouncer."""
        params = {k: v for k, v in self.upstream.items() if k not in _UPSTREAM_ONLY}
        params.update(host="127.0.0.1", port=str(self.port))
        return conninfo.make_conninfo("", **params)

    @property
    def console_url(self) -> str:
        """PgBouncer's admin console (SHOW POOLS, SHOW SERVERS, ...)."""
        return conninfo.make_conninfo(
            "", host="127.0.0.1", port=str(self.port), dbname="pgbouncer", user=self.user
        )

    # -- lifecycle -----------------------------------------------------------------------

    def start(self, timeout: float = 10.0) -> PgBouncer:
        """Start PgBouncer and wait until it accepts connections."""
        if self.running:
            return self
        with self._stderr.open("ab") as stderr:
            self._process = subprocess.Popen(
                as_unprivileged([self.binary, str(self.config)]),
                stdin=subprocess.DEVNULL,
                stdout=stderr,
                stderr=stderr,
                start_new_session=True,  # a Ctrl-C in the test run is not sent to it
            )
        deadline = time.monotonic() + timeout
        while not _accepts("127.0.0.1", self.port):
            problem = None
            if self._process.poll() is not None:
                problem = f"PgBouncer exited at start (code {self._process.returncode})"
            elif time.monotonic() > deadline:
                problem = f"PgBouncer did not listen on 127.0.0.1:{self.port} within {timeout:g}s"
            if problem:
                tail = self.log_tail()
                self.stop()
                raise PgBouncerError(f"{problem}:\n{tail}")
            time.sleep(0.02)
        return self

    def restart(self) -> None:
        """A pooler restart: every client and server connection is dropped, then it listens
        again on the same port."""
        self.stop(remove=False)
        self.start()

    def stop(self, *, remove: bool = True) -> None:
        """Immediate shutdown (SIGTERM closes every connection); `remove` deletes the folder."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if remove:
            shutil.rmtree(self.folder, ignore_errors=True)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = 20) -> str:
        """The end of PgBouncer's log, or of its output when the log says nothing (it cannot
        log before it has opened its log file)."""
        for path in (self.log_file, self._stderr):
            text = path.read_text(errors="replace").splitlines() if path.exists() else []
            if text:
                return f"--- {path.name}\n" + "\n".join(text[-lines:])
        return "(PgBouncer wrote nothing: can it write its log file?)"

    def __enter__(self) -> PgBouncer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"<PgBouncer 127.0.0.1:{self.port} {state}>"

    # -- files ---------------------------------------------------------------------------

    def _upstream_tls(self) -> bool:
        return str(self.upstream.get("sslmode", "")) in ("require", "verify-ca", "verify-full")

    def _write_files(self, settings: dict[str, str]) -> None:
        host = self.upstream.get("host") or "127.0.0.1"
        port = self.upstream.get("port") or "5432"
        # Every database name the client asks for goes to the same-named one upstream.
        database = f"* = host={host} port={port}"
        self.config.write_text(
            "[databases]\n"
            f"{database}\n\n"
            "[pgbouncer]\n" + "".join(f"{key} = {value}\n" for key, value in settings.items())
        )
        # With auth_type=trust the client's password is not checked, but the user must be
        # listed; the password given here is the one PgBouncer uses to log in upstream.
        password = str(self.upstream.get("password") or "")
        (self.folder / "userlist.txt").write_text(f'"{_quoted(self.user)}" "{_quoted(password)}"\n')


def _quoted(value: str) -> str:
    return value.replace('"', '""')


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.2):
            return True
    except OSError:
        return False
