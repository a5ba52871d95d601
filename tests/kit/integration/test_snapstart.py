"""SnapStart: a handler that installed neonkit's hooks leaves no socket in the snapshot and
reconnects after a restore. Lambda's `snapshot_restore_py` is stubbed (tests/support)."""

from __future__ import annotations

import importlib.util
import os
import random
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest
from localdev.testing import Handler, LambdaContext, load_handler
from neonkit import Database, Settings, snapstart, table, using
from neonkit.query import _compiler as compiler
from psycopg import conninfo

from tests.kit.support import app, snapshot_restore_py
from tests.kit.support.proxy import FaultProxy


@pytest.fixture
def runtime(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """Lambda's runtime-hooks module: a fresh copy of the stub for each test (a new sandbox)."""
    path = Path(snapshot_restore_py.__file__)
    spec = importlib.util.spec_from_file_location("snapshot_restore_py", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", module)
    return module


@pytest.fixture
def sandbox_db(proxy: FaultProxy, notes_url: str, settings: Settings) -> Iterator[Database]:
    """The sandbox's database, reached through the proxy."""
    url = conninfo.make_conninfo(notes_url, host="127.0.0.1", port=str(proxy.port))
    database = Database(url, settings=settings)
    with using(database):
        yield database
    database.close()


@pytest.fixture
def snapstart_handler(
    runtime: ModuleType, app_env: None, notes_db: Database, sandbox_db: Database
) -> Handler:
    """The fixture app's function, imported as Lambda's init would, with the hooks installed:
    by its app.py at module level, or here (install() registers once per runtime)."""
    handler = load_handler(app.FUNCTION, template=app.TEMPLATE)
    assert snapstart.install() is True
    return handler


def sockets_to(port: int) -> set[int]:
    """Inodes of this process's TCP sockets connected to 127.0.0.1:`port` (from /proc)."""
    mine = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            mine.add(int(target[8:-1]))
    connected = set()
    for table_file in ("/proc/self/net/tcp", "/proc/self/net/tcp6"):
        path = Path(table_file)
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            fields = line.split()
            remote_port = int(fields[2].rsplit(":", 1)[1], 16)
            inode = int(fields[9])
            if remote_port == port and inode in mine:
                connected.add(inode)
    return connected


def get(handler: Handler, note_id: int) -> int:
    return int(
        handler(app.event("notes_get_found", note_id=note_id), LambdaContext())["statusCode"]
    )


def test_no_socket_crosses_the_snapshot_and_a_restored_sandbox_reconnects(
    runtime: ModuleType,
    snapstart_handler: Handler,
    sandbox_db: Database,
    notes_db: Database,
    proxy: FaultProxy,
) -> None:
    # GIVEN a handler whose init served a request (a connection is open)
    note_id = int(notes_db.value("INSERT INTO notes (title) VALUES ('x') RETURNING id"))
    with using(sandbox_db):
        assert get(snapstart_handler, note_id) == 200
    assert sandbox_db.connected
    assert len(sockets_to(proxy.port)) == 1

    # WHEN Lambda takes the snapshot
    with using(sandbox_db):
        runtime.take_snapshot()

    # THEN no socket of the process leads to the database, and db knows it is not connected
    assert sockets_to(proxy.port) == set()
    assert not sandbox_db.connected

    # WHEN a sandbox is restored from it, THEN the next request connects anew and succeeds,
    # with retry jitter drawn from the OS (no generator state was cloned by the snapshot)
    accepted = proxy.accepted
    with using(sandbox_db):
        runtime.restore()
        assert isinstance(sandbox_db.connector.rng, random.SystemRandom)
        assert get(snapstart_handler, note_id) == 200
    assert proxy.accepted == accepted + 1
    assert len(sockets_to(proxy.port)) == 1


def test_an_early_connect_under_way_is_waited_for_and_closed_before_the_snapshot(
    runtime: ModuleType, app_env: None, proxy: FaultProxy, notes_url: str, settings: Settings
) -> None:
    # GIVEN init started connecting early (NEONKIT_PRECONNECT=on: SnapStart's auto is off)
    url = conninfo.make_conninfo(notes_url, host="127.0.0.1", port=str(proxy.port))
    database = Database(url, settings=replace(settings, preconnect=True))
    with using(database):
        assert snapstart.install() is True
        database.preconnect()
        # WHEN Lambda takes the snapshot at once, THEN the hook waited for the connection
        # and closed it: no socket of the process leads to the database
        runtime.take_snapshot()
    assert proxy.accepted == 1
    assert sockets_to(proxy.port) == set()
    assert not database.connected
    with using(database):
        runtime.restore()
        assert database.value("SELECT 1") == 1  # a restored sandbox connects anew
    assert proxy.accepted == 2
    database.close()


def test_a_connection_left_open_at_restore_is_dropped(
    runtime: ModuleType, snapstart_handler: Handler, sandbox_db: Database, proxy: FaultProxy
) -> None:
    with using(sandbox_db):
        sandbox_db.ping()
        runtime.restore()
    assert not sandbox_db.connected
    assert sockets_to(proxy.port) == set()


def test_install_registers_its_hooks_once(runtime: ModuleType, app_env: None) -> None:
    assert snapstart.install() is True
    assert snapstart.install() is True
    assert len(runtime.before_snapshot) == 1
    assert len(runtime.after_restore) == 1


def test_before_the_snapshot_the_builder_sql_is_compiled(
    runtime: ModuleType, app_env: None
) -> None:
    query = table("snapstart_warm_only").select("id").where("id", 1)
    snapstart.install(query)
    misses = compiler.cache_info().misses
    runtime.take_snapshot()
    assert compiler.cache_info().misses == misses + 1
    query.compile()
    assert compiler.cache_info().misses == misses + 1  # the request finds it compiled


def test_after_restore_the_random_module_is_reseeded(runtime: ModuleType, app_env: None) -> None:
    snapstart.install()
    random.seed(7)
    runtime.restore()
    drawn = random.random()
    random.seed(7)
    assert drawn != random.random()


def test_outside_lambda_install_does_nothing_and_opens_no_socket(
    runtime: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AWS_LAMBDA_FUNCTION_NAME", raising=False)
    before = os.listdir("/proc/self/fd")
    assert snapstart.install() is False
    assert runtime.before_snapshot == []
    assert os.listdir("/proc/self/fd") == before


def test_without_the_runtime_module_install_does_nothing(
    app_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)
    assert snapstart.install() is False


def test_install_refuses_what_it_cannot_warm() -> None:
    with pytest.raises(TypeError, match="got 42"):
        snapstart.install(42)  # type: ignore[arg-type]
