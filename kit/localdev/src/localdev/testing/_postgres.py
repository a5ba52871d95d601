"""The PostgreSQL the tests talk to: `TEST_DATABASE_URL`, or an embedded one started here."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql

from .._postgres import EmbeddedPostgres, free_port


@contextmanager
def postgres_server(
    max_connections: int = 100, *, env: str | None = "TEST_DATABASE_URL"
) -> Iterator[str]:
    """An admin URL for a server: the one `env` names, or a throwaway embedded one."""
    external = os.environ.get(env) if env else None
    if external:
        yield external
        return
    folder = Path(tempfile.mkdtemp(prefix="neonkit-pg-"))
    server = EmbeddedPostgres(folder / "data", free_port(), durable=False)
    try:
        server.start(max_connections=max_connections)
        require_passwords_for_group(server)
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


PASSWORD_GROUP = "password_login"


def require_passwords_for_group(server: EmbeddedPostgres) -> None:
    """Members of PASSWORD_GROUP must log in with a password (SCRAM); everyone else is trusted."""
    hba = server.data_dir / "pg_hba.conf"
    rule = f"host all +{PASSWORD_GROUP} 127.0.0.1/32 scram-sha-256\n"
    hba.write_text(rule + hba.read_text())
    with psycopg.connect(server.url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(PASSWORD_GROUP)))
    server.reload()


def password_role(admin_url: str, name: str, password: str) -> str:
    """A login role that must give `password` (re-created each time); returns its URL."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(
                sql.Identifier(name), sql.Literal(password), sql.Identifier(PASSWORD_GROUP)
            )
        )
    params = psycopg.conninfo.conninfo_to_dict(admin_url)
    params.update(user=name, password=password)
    return psycopg.conninfo.make_conninfo("", **params)


def enforces_passwords(admin_url: str) -> bool:
    """Whether the server rejects a wrong password (an external TEST_DATABASE_URL may trust all)."""
    try:
        url = password_role(admin_url, "neonkit_probe", "right-password")
    except psycopg.Error:
        return False
    params = psycopg.conninfo.conninfo_to_dict(url)
    params["password"] = "wrong-password"
    try:
        psycopg.connect(psycopg.conninfo.make_conninfo("", **params)).close()
    except psycopg.OperationalError:
        return True
    return False


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    """A new, empty database on the server, dropped afterwards."""
    name = f"neonkit_test_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    params = psycopg.conninfo.conninfo_to_dict(admin_url)
    params["dbname"] = name
    try:
        yield psycopg.conninfo.make_conninfo("", **params)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
