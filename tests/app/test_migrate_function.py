"""The migrations function: CloudFormation custom resource requests from events/, answered to a
local HTTP server standing in for the pre-signed ResponseURL (never AWS), on a fresh database."""

from __future__ import annotations

import contextvars
import copy
import http.server
import json
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest
from localdev.testing import (
    Handler,
    LambdaContext,
    global_environment,
    load_event,
    load_handler,
    scratch_database,
)
from localdev.testing import template_document as template
from neonkit import Database, Settings, using
from neonkit.migrations import MigrationError

ROOT = Path(__file__).resolve().parents[2]

FUNCTION_DIR = ROOT / "functions" / "migrate"
PROJECT_MIGRATIONS = sorted(p.name for p in (ROOT / "migrations").glob("*.sql"))
# The tables the project's migrations create (the sample's todos, and whatever the app adds)
PROJECT_TABLES = {
    match.lower()
    for name in PROJECT_MIGRATIONS
    for match in re.findall(
        r"CREATE TABLE\s+(?:IF NOT EXISTS\s+)?(\w+)", (ROOT / "migrations" / name).read_text(), re.I
    )
}


# Every function of the template (the API, the sample's jobs, whatever the app adds)
FUNCTIONS = [
    name
    for name, resource in template()["Resources"].items()
    if resource.get("Type") == "AWS::Serverless::Function"
]


# -- a stand-in for CloudFormation's response bucket -----------------------------------------


@dataclass
class ResponseBucket:
    """Receives the PUTs a custom resource makes to its ResponseURL."""

    url: str
    answers: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    fail_next: int = 0  # answer this many PUTs with a 500 first

    def request(self, name: str) -> dict[str, Any]:
        """An event from events/, its ResponseURL pointed here."""
        event = copy.deepcopy(load_event(name))
        event["ResponseURL"] = f"{self.url}/{event['RequestId']}?X-Amz-Signature=test"
        return event


@pytest.fixture
def bucket() -> Iterator[ResponseBucket]:
    holder: list[ResponseBucket] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_PUT(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state = holder[0]
            if state.fail_next:
                state.fail_next -= 1
                self.send_response(500)
            else:
                state.answers.append(json.loads(body))
                state.headers.append(dict(self.headers))
                self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    holder.append(ResponseBucket(f"http://127.0.0.1:{server.server_address[1]}"))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield holder[0]
    server.shutdown()
    server.server_close()


# -- the function and its database -------------------------------------------------------------


@pytest.fixture
def empty_url(admin_url: str) -> Iterator[str]:
    with scratch_database(admin_url) as url:
        yield url


@pytest.fixture
def empty_db(empty_url: str) -> Iterator[Database]:
    """The handler's `db`: a database of its own with nothing applied yet."""
    database = Database(empty_url, settings=Settings(connect_deadline=5.0))
    with using(database):
        yield database
    database.close()


@pytest.fixture
def migrate_fn(monkeypatch: pytest.MonkeyPatch) -> Handler:
    for name, value in global_environment().items():  # what the template gives every function
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "MigrateFunction")
    monkeypatch.delenv("NEONKIT_MIGRATIONS_DIR", raising=False)
    monkeypatch.syspath_prepend(str(FUNCTION_DIR))  # Lambda puts the task root on the path
    return load_handler("MigrateFunction")


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A migrations folder of the test's own, used instead of the project's."""
    monkeypatch.setenv("NEONKIT_MIGRATIONS_DIR", str(tmp_path))
    return tmp_path


def tables(url: str) -> set[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
        ).fetchall()
    return {str(row[0]) for row in rows}


def recorded(url: str) -> list[str]:
    with psycopg.connect(url) as conn:
        if conn.execute("SELECT to_regclass('neonkit_migrations')").fetchone() == (None,):
            return []
        return [str(r[0]) for r in conn.execute("SELECT name FROM neonkit_migrations ORDER BY 1")]


# -- deploys --------------------------------------------------------------------------------


def test_create_applies_the_packaged_migrations(
    migrate_fn: Handler, empty_db: Database, empty_url: str, bucket: ResponseBucket
) -> None:
    event = bucket.request("migrate_cfn_create")

    returned = migrate_fn(event, LambdaContext())

    # THEN CloudFormation got one answer: SUCCESS, for this very request
    assert bucket.answers == [returned]
    assert returned["Status"] == "SUCCESS"
    assert (returned["RequestId"], returned["StackId"], returned["LogicalResourceId"]) == (
        event["RequestId"],
        event["StackId"],
        "Migrations",
    )
    assert returned["PhysicalResourceId"] == "neonkit-Migrations"
    assert returned["Data"] == {
        "Applied": ", ".join(PROJECT_MIGRATIONS),
        "Count": str(len(PROJECT_MIGRATIONS)),
    }
    # the PUT matches the URL's signature: no content type
    assert bucket.headers[0].get("Content-Type", "") == ""
    assert PROJECT_TABLES
    assert tables(empty_url) >= PROJECT_TABLES
    assert recorded(empty_url) == PROJECT_MIGRATIONS


def test_an_update_applies_only_what_is_new(
    migrate_fn: Handler, empty_db: Database, empty_url: str, bucket: ResponseBucket, folder: Path
) -> None:
    (folder / "0001_first.sql").write_text("CREATE TABLE first (id int);")
    migrate_fn(bucket.request("migrate_cfn_create"), LambdaContext())
    (folder / "0002_second.sql").write_text("CREATE TABLE second (id int);")

    answer = migrate_fn(bucket.request("migrate_cfn_update"), LambdaContext())

    assert answer["Status"] == "SUCCESS"
    assert answer["PhysicalResourceId"] == "neonkit-Migrations"  # the same resource
    assert answer["Data"] == {"Applied": "0002_second.sql", "Count": "1"}
    assert {"first", "second"} <= tables(empty_url)


def test_a_failed_migration_fails_the_deploy_and_changes_nothing(
    migrate_fn: Handler, empty_db: Database, empty_url: str, bucket: ResponseBucket, folder: Path
) -> None:
    # GIVEN a good migration followed by a broken one, neither applied yet
    (folder / "0001_good.sql").write_text(
        "CREATE TABLE good (id int);\nINSERT INTO good VALUES (1);"
    )
    (folder / "0002_broken.sql").write_text("CREATE TABLE half (id int);\n\nSELEC id FROM half;\n")

    # WHEN the stack is deployed
    answer = migrate_fn(bucket.request("migrate_cfn_create"), LambdaContext())

    # THEN the deploy fails with the SQL error where the stack events show it
    assert answer["Status"] == "FAILED"
    assert answer["Reason"] == '0002_broken.sql failed: syntax error at or near "SELEC" (line 3)'
    assert bucket.answers == [answer]
    # AND the database is as it was: not even the good file was kept
    assert tables(empty_url) <= {"neonkit_migrations"}
    assert recorded(empty_url) == []


def test_two_deploys_at_once_apply_each_file_once(
    migrate_fn: Handler, empty_url: str, bucket: ResponseBucket, folder: Path
) -> None:
    # GIVEN a slow first migration, so that both runs are inside at once
    (folder / "0001_slow.sql").write_text("SELECT pg_sleep(0.5); CREATE TABLE hits (n int);")
    (folder / "0002_count.sql").write_text("INSERT INTO hits VALUES (1);")
    answers: list[dict[str, Any]] = []

    def deploy() -> None:
        database = Database(empty_url)  # each run is a sandbox of its own
        with using(database):
            answers.append(migrate_fn(bucket.request("migrate_cfn_create"), LambdaContext()))
        database.close()

    # WHEN two invocations run together
    threads = [
        threading.Thread(target=contextvars.copy_context().run, args=(deploy,)) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # THEN both succeed, one of them applied the files, and each file ran once
    assert sorted(a["Status"] for a in answers) == ["SUCCESS", "SUCCESS"]
    assert sorted(a["Data"]["Count"] for a in answers) == ["0", "2"]
    with psycopg.connect(empty_url) as conn:
        assert conn.execute("SELECT count(*) FROM hits").fetchone() == (1,)


@pytest.fixture
def unreachable() -> Iterator[Database]:
    """A database the function must not need: any statement would fail."""
    database = Database(
        "postgresql://nobody:s3cret-pw@127.0.0.1:1/none",
        settings=Settings(connect_deadline=0.5, connect_timeout=2),
    )
    with using(database):
        yield database


def test_delete_succeeds_without_touching_the_database(
    migrate_fn: Handler, unreachable: Database, bucket: ResponseBucket
) -> None:
    answer = migrate_fn(bucket.request("migrate_cfn_delete"), LambdaContext())

    assert answer["Status"] == "SUCCESS"
    assert answer["PhysicalResourceId"] == "neonkit-Migrations"
    assert not unreachable.connected


def test_a_rollback_leaves_the_database_alone(
    migrate_fn: Handler, unreachable: Database, bucket: ResponseBucket
) -> None:
    # GIVEN an update that failed: CloudFormation rolls back to the previous version
    event = bucket.request("migrate_cfn_update")
    event["ResourceProperties"], event["OldResourceProperties"] = (
        event["OldResourceProperties"],
        event["ResourceProperties"],
    )

    answer = migrate_fn(event, LambdaContext())

    # THEN it succeeds at once: re-running the files that failed would fail the rollback too
    assert answer["Status"] == "SUCCESS"
    assert not unreachable.connected


def test_an_unreachable_database_fails_the_deploy_without_the_password(
    migrate_fn: Handler, unreachable: Database, bucket: ResponseBucket
) -> None:
    answer = migrate_fn(bucket.request("migrate_cfn_create"), LambdaContext())

    assert answer["Status"] == "FAILED"
    assert "127.0.0.1" in answer["Reason"]
    assert "s3cret-pw" not in json.dumps(bucket.answers)


@dataclass
class ShortContext(LambdaContext):
    remaining_ms: int = 30_000

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def test_a_run_that_would_time_out_answers_failed_first(
    migrate_fn: Handler, empty_db: Database, bucket: ResponseBucket, folder: Path
) -> None:
    # GIVEN a migration slower than the time the function has left (5.3 s, 5 s kept back)
    (folder / "0001_slow.sql").write_text("SELECT pg_sleep(2);")

    answer = migrate_fn(bucket.request("migrate_cfn_create"), ShortContext(remaining_ms=5_300))

    # THEN CloudFormation was told FAILED in time, once: the stack does not hang for an hour
    assert answer["Status"] == "FAILED"
    assert "did not finish before the function's timeout" in answer["Reason"]
    assert bucket.answers == [answer]


def test_a_failed_put_is_tried_again(
    migrate_fn: Handler, unreachable: Database, bucket: ResponseBucket
) -> None:
    bucket.fail_next = 1

    migrate_fn(bucket.request("migrate_cfn_delete"), LambdaContext())

    assert [a["Status"] for a in bucket.answers] == ["SUCCESS"]


# -- by hand -------------------------------------------------------------------------------------


def test_invoked_by_hand_it_applies_and_reports(
    migrate_fn: Handler, empty_db: Database, empty_url: str
) -> None:
    assert migrate_fn({}, LambdaContext()) == {"applied": PROJECT_MIGRATIONS}
    assert migrate_fn(load_event("migrate_by_hand"), LambdaContext()) == {"applied": []}

    status = migrate_fn({"action": "status"}, LambdaContext())

    assert [(m["name"], m["state"]) for m in status["migrations"]] == [
        (name, "applied") for name in PROJECT_MIGRATIONS
    ]
    with pytest.raises(ValueError, match="unknown action 'drop'"):
        migrate_fn({"action": "drop"}, LambdaContext())


def test_a_failure_by_hand_raises(migrate_fn: Handler, empty_db: Database, folder: Path) -> None:
    (folder / "0001_broken.sql").write_text("CREATE TABLE;")

    with pytest.raises(MigrationError, match=r"0001_broken\.sql failed: syntax error"):
        migrate_fn({"action": "migrate"}, LambdaContext())


# -- packaging and the template ----------------------------------------------------------------


def test_sam_build_packages_the_migrations_with_the_function(tmp_path: Path) -> None:
    # SAM copies the CodeUri to a scratch folder and runs the Makefile's target there.
    scratch, artifacts = tmp_path / "scratch", tmp_path / "artifacts"
    shutil.copytree(FUNCTION_DIR, scratch, ignore=shutil.ignore_patterns("__pycache__"))
    artifacts.mkdir()
    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    subprocess.run(
        [make, "-f", str(FUNCTION_DIR / "Makefile"), "build-MigrateFunction",
         f"ARTIFACTS_DIR={artifacts}"],
        cwd=scratch,
        check=True,
        capture_output=True,
    )  # fmt: skip

    assert sorted(p.name for p in (artifacts / "migrations").iterdir()) == PROJECT_MIGRATIONS
    assert (artifacts / "app.py").is_file()
    assert (artifacts / "custom_resource.py").is_file()


def test_the_template_runs_it_on_every_deploy_that_changes_it() -> None:
    resources = template()["Resources"]
    function = resources["MigrateFunction"]
    migrations = resources["Migrations"]

    assert function["Metadata"]["BuildMethod"] == "makefile"
    assert function["Properties"]["AutoPublishAlias"]
    assert migrations["Type"] == "Custom::Migrations"
    assert migrations["Properties"]["ServiceToken"] == {"Fn::GetAtt": ["MigrateFunction", "Arn"]}
    assert migrations["Properties"]["MigrateFunctionVersion"] == {"Ref": "MigrateFunction.Version"}
    assert migrations["Properties"]["ServiceTimeout"] > function["Properties"]["Timeout"]
    # the functions that use the schema go live only after it is migrated
    for name in set(FUNCTIONS) - {"MigrateFunction"}:
        assert resources[name]["DependsOn"] == "Migrations", name


@pytest.mark.parametrize("name", FUNCTIONS)
def test_each_database_function_may_read_the_stored_url_and_only_that(name: str) -> None:
    resources = template()["Resources"]
    policies = resources[name]["Properties"]["Policies"]
    assert {
        "Fn::If": ["ReadsStoredUrl", {"Ref": "DatabaseUrlReadPolicy"}, {"Ref": "AWS::NoValue"}]
    } in policies

    policy = resources["DatabaseUrlReadPolicy"]
    assert policy["Condition"] == "ReadsStoredUrl"
    secret, parameter = policy["Properties"]["PolicyDocument"]["Statement"][0]["Fn::If"][1:]
    assert secret == {
        "Effect": "Allow",
        "Action": "secretsmanager:GetSecretValue",
        "Resource": {"Ref": "DatabaseSecretArn"},
    }
    assert parameter == {
        "Effect": "Allow",
        "Action": "ssm:GetParameter",
        "Resource": {
            "Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}"
            ":parameter/${DatabaseParameterName}"
        },
    }
    assert "*" not in json.dumps([policies, policy])


@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        ({"DatabaseUrl": "postgresql://u:p@h/db"}, {"DATABASE_URL": "postgresql://u:p@h/db"}),
        (
            {"DatabaseSecretArn": "arn:aws:secretsmanager:us-east-1:1:secret:db"},
            {"DATABASE_SECRET": "arn:aws:secretsmanager:us-east-1:1:secret:db"},
        ),
        ({"DatabaseParameterName": "neonkit/prod/db"}, {"DATABASE_SECRET": "/neonkit/prod/db"}),
    ],
    ids=["url", "secret", "ssm-parameter"],
)
def test_every_function_is_told_where_the_url_is(
    parameters: dict[str, str], expected: dict[str, str]
) -> None:
    from localdev.testing import Template

    deployed = Template.load(ROOT / "template.yaml", parameter_overrides=parameters)
    for name in FUNCTIONS:
        environment = deployed.function(name).environment
        found = {k: v for k, v in environment.items() if k in ("DATABASE_URL", "DATABASE_SECRET")}
        assert found == expected, name
