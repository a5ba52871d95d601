"""The embedded PostgreSQL a local run starts when no database is configured.

Each test works on a copy of the toy project, so `.local/pgdata` lives in a temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from localdev import _database
from localdev._database import LocalDatabase

ROOT = Path(__file__).resolve().parents[3]
FIXTURE = ROOT / "tests" / "kit" / "fixtures" / "localdev"


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Path]:
    project = tmp_path / "project"
    shutil.copytree(FIXTURE, project, ignore=shutil.ignore_patterns(".local", "__pycache__"))
    yield project
    LocalDatabase(project).stop()  # whatever a failed test left running


def localdev(
    project: Path, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    # neonkit (which applies the migrations) comes from the kit's layer
    env["PYTHONPATH"] = str(ROOT / "layer" / "python")
    command = [sys.executable, "-m", "localdev", args[0], "-t", str(project / "template.yaml")]
    return subprocess.run(
        [*command, *args[1:]],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def add_note(project: Path, text: str) -> tuple[list[str], str]:
    """Invoke the notes function; the notes it sees, and the command's log."""
    result = localdev(
        project, "invoke", "NotesFunction", "-e", "-", stdin=json.dumps({"text": text})
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["notes"], result.stderr


def test_invoke_starts_migrates_and_stops_the_local_database(project: Path) -> None:
    # WHEN a function is invoked with no database configured
    notes, log = add_note(project, "first")
    # THEN an embedded server was started in the project, migrated, used, and stopped
    assert notes == ["first"]
    assert "localdev: PostgreSQL started on 127.0.0.1:" in log
    assert "localdev: applied migration 0001_notes.sql" in log
    assert log.rstrip().endswith("localdev: PostgreSQL stopped")
    db = LocalDatabase(project)
    assert (project / ".local" / "pgdata" / "PG_VERSION").is_file()
    assert not db.is_running()
    # AND the data and the port persist to the next run, with nothing more to migrate
    port = db.server().port
    notes, log = add_note(project, "second")
    assert notes == ["first", "second"]
    assert "applied migration" not in log
    assert db.server().port == port


def test_db_commands(project: Path) -> None:
    db = LocalDatabase(project)
    # start: runs it, migrated, and prints its URL
    started = localdev(project, "db", "start")
    assert started.returncode == 0, started.stderr
    assert started.stdout.strip() == db.url
    assert "applied migration 0001_notes.sql" in started.stderr
    status = localdev(project, "db", "status")
    assert (status.returncode, status.stdout.split(":")[0]) == (0, "running")
    # a run finds it running and leaves it so
    notes, log = add_note(project, "kept")
    assert notes == ["kept"]
    assert "PostgreSQL already running" in log
    assert "stopped" not in log
    assert db.is_running()
    assert localdev(project, "db", "url").stdout.strip() == db.url
    # reset: empty again, migrated, still running
    reset = localdev(project, "db", "reset")
    assert reset.returncode == 0, reset.stderr
    assert "applied migration 0001_notes.sql" in reset.stderr
    assert db.is_running()
    assert add_note(project, "fresh")[0] == ["fresh"]
    # stop
    assert localdev(project, "db", "stop").returncode == 0
    status = localdev(project, "db", "status")
    assert (status.returncode, status.stdout.split(":")[0]) == (3, "stopped")


def test_migrate_applies_only_what_is_new(project: Path) -> None:
    assert "applied migration 0001_notes.sql" in localdev(project, "db", "migrate").stderr
    (project / "migrations" / "0002_more.sql").write_text("ALTER TABLE notes ADD done boolean;\n")
    second = localdev(project, "db", "migrate")
    assert second.returncode == 0, second.stderr
    assert "applied migration 0002_more.sql" in second.stderr
    assert "0001" not in second.stderr
    assert not LocalDatabase(project).is_running()  # migrate stops what it started


def test_a_failing_migration_is_reported(project: Path) -> None:
    (project / "migrations" / "0002_broken.sql").write_text("CREATE TABLE oops (;\n")
    result = localdev(project, "invoke", "NotesFunction")
    assert result.returncode == 2
    assert "localdev: error: migrations failed: 0002_broken.sql failed" in result.stderr
    assert not LocalDatabase(project).is_running()


def test_sigterm_during_an_invoke_stops_what_it_started(project: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PYTHONPATH"] = str(ROOT / "layer" / "python")
    template = project / "template.yaml"
    # a Timeout long enough that only the signal can end the sleep
    text = template.read_text().replace(
        "Handler: app.handler\n      Timeout: 1\n", "Handler: app.handler\n      Timeout: 60\n"
    )
    assert "Timeout: 60" in text
    template.write_text(text)
    log = project / "invoke.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "localdev", "invoke", "SleepyFunction", "-t", str(template)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while "going to sleep" not in log.read_text():
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 130
    assert "localdev: PostgreSQL stopped" in log.read_text()
    assert not LocalDatabase(project).is_running()


def test_db_role_runs_the_functions_as_that_role(project: Path) -> None:
    # GIVEN migrations that make a role allowed to read the notes, not to write them
    (project / "migrations" / "0002_reader.sql").write_text(
        "CREATE ROLE notes_reader NOLOGIN; GRANT SELECT ON notes TO notes_reader;"
    )
    notes, _ = add_note(project, "by the owner")
    assert notes == ["by the owner"]
    # WHEN the function runs with --db-role, THEN it reads as that role and may not write
    read = localdev(project, "invoke", "NotesFunction", "--db-role", "notes_reader", "-e", "-",
                    stdin="{}")  # fmt: skip
    assert read.returncode == 0, read.stderr
    assert json.loads(read.stdout)["notes"] == ["by the owner"]
    assert "run as notes_reader (--db-role)" in read.stderr
    write = localdev(project, "invoke", "NotesFunction", "--db-role", "notes_reader", "-e", "-",
                     stdin='{"text": "x"}')  # fmt: skip
    assert write.returncode == 1
    assert "permission denied for table notes" in write.stdout
    # AND a role the migrations did not make is a clear error
    missing = localdev(project, "invoke", "NotesFunction", "--db-role", "nobody", "-e", "-",
                       stdin="{}")  # fmt: skip
    assert missing.returncode == 2
    assert "--db-role nobody: no such role" in missing.stderr


def test_a_port_taken_between_the_check_and_the_start_is_chosen_again(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN another server listening on the port the project kept, taken after the check ran
    # (two projects starting at once): the first check is told the port is free
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    db = LocalDatabase(project)
    db.port_file.parent.mkdir(parents=True, exist_ok=True)
    db.port_file.write_text(f"{port}\n")
    checks = iter([True])
    real = _database._port_is_free
    monkeypatch.setattr(_database, "_port_is_free", lambda p: next(checks, None) or real(p))
    try:
        # WHEN the project's server starts
        assert db.start()
        # THEN it runs on another port, kept for next time
        assert db.server().port != port
        assert int(db.port_file.read_text()) == db.server().port
        assert db.is_running()
    finally:
        taken.close()
        db.stop()


def test_serve_applies_a_migration_added_while_it_runs(project: Path) -> None:
    # GIVEN the project served on its embedded PostgreSQL, a function warm
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["PYTHONPATH"] = str(ROOT / "layer" / "python")
    log = project / "serve.log"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "localdev", "serve", "-t", str(project / "template.yaml")]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)], cwd=ROOT, env=env, stdout=out, stderr=out
        )
    try:
        deadline = time.monotonic() + 60
        while "Running on" not in log.read_text():  # the fact: it says it listens
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port}/do/state"
        with urllib.request.urlopen(url, timeout=30) as answer:
            assert answer.status == 200
        # WHEN a migration is added (as `make resource` adds one) and a request comes
        (project / "migrations" / "0002_more.sql").write_text("CREATE TABLE more_notes (n int);\n")
        with urllib.request.urlopen(url, timeout=30) as answer:
            assert answer.status == 200
        # THEN it was applied before that request ran
        assert "localdev: applied migration 0002_more.sql" in log.read_text()
        with psycopg.connect(LocalDatabase(project).url) as conn:
            assert conn.execute("SELECT to_regclass('more_notes')::text").fetchone() == (
                "more_notes",
            )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
