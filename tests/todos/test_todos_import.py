"""The SQS import consumer in-process: events from events/, a stub LambdaContext, a real database.

Each test runs directly and through PgBouncer (see tests/conftest.py).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any, ClassVar

import psycopg
import pytest
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.base import BaseProvider
from localdev.testing import Handler, LambdaContext, load_event, load_handler
from localdev.testing import template_document as template
from neonkit import ConnectError, Database, Settings, using
from neonkit import _secrets as neonkit_secrets

from tests.kit.support.proxy import FaultProxy

BAD_ID = "3d4e5f6a-7b8c-4d9e-9f0a-2b3c4d5e6f7a"  # the invalid todo in todos_import_partial_failure


@pytest.fixture
def import_todos(
    lambda_env: None, todos_db: Database, app_db: Database, monkeypatch: pytest.MonkeyPatch
) -> Handler:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "TodosImportFunction")
    return load_handler("TodosImportFunction")


def failures(response: dict[str, Any]) -> list[str]:
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def stored(db: Database) -> dict[str, str]:
    """idempotency_key -> title of every row."""
    rows = db.all("SELECT idempotency_key, title FROM todos ORDER BY id")
    return {row["idempotency_key"]: row["title"] for row in rows}


def message_ids(event: dict[str, Any]) -> list[str]:
    return [record["messageId"] for record in event["Records"]]


# -- a batch ------------------------------------------------------------------------------


def test_a_batch_is_stored_with_one_key_per_message(
    import_todos: Handler, todos_db: Database
) -> None:
    event = load_event("todos_import_batch")

    response = import_todos(event, LambdaContext())

    assert failures(response) == []
    assert stored(todos_db) == {
        f"sqs:{record['messageId']}": json.loads(record["body"])["title"]
        for record in event["Records"]
    }
    row = todos_db.one("SELECT due, tags, done FROM todos WHERE title = 'Renew passport'")
    assert row is not None
    assert (str(row["due"]), row["tags"], row["done"]) == ("2026-12-01", ["admin"], False)


def test_a_bad_message_fails_alone(import_todos: Handler, todos_db: Database) -> None:
    # GIVEN a batch of four where one todo has a blank title and an unknown field
    event = load_event("todos_import_partial_failure")

    # WHEN it is processed
    response = import_todos(event, LambdaContext())

    # THEN only that message is reported (SQS retries it alone), and the others are stored
    assert failures(response) == [BAD_ID]
    good = [m for m in message_ids(event) if m != BAD_ID]
    assert sorted(stored(todos_db)) == sorted(f"sqs:{m}" for m in good)


def test_a_body_that_is_not_json_fails_alone(import_todos: Handler, todos_db: Database) -> None:
    event = copy.deepcopy(load_event("todos_import_batch"))
    event["Records"][1]["body"] = '{"title": "cut short'
    broken = event["Records"][1]["messageId"]

    response = import_todos(event, LambdaContext())

    assert failures(response) == [broken]
    assert len(stored(todos_db)) == 2


def test_a_failed_message_says_why(import_todos: Handler, todos_db: Database) -> None:
    from todos import importer

    event = load_event("todos_import_partial_failure")
    batch = importer.import_batch(event["Records"])

    assert str(batch.failed[BAD_ID]) == (
        "invalid todo: priority unknown field; title must not be blank"
    )
    with pytest.raises(importer.RejectedMessage, match=r"malformed JSON at line 1 column 2"):
        importer.parse_body("{oops")


@pytest.mark.parametrize(
    "body",
    [
        '{"title": ' + "9" * 5000 + "}",  # past Python's limit for int(): a ValueError
        '{"title": "x", "due": ' + "1" * 5000 + "}",
        "[" * 10_000 + "]" * 10_000,
        '{"title": "\\ud800"}',
        '{"\\ud800": 1, "title": "x"}',
        '{"title": NaN}',
    ],
)
def test_any_unparsable_message_fails_alone(
    import_todos: Handler, todos_db: Database, body: str
) -> None:
    # GIVEN a batch where one message holds what a JSON parser chokes on
    event = copy.deepcopy(load_event("todos_import_batch"))
    event["Records"][1]["body"] = body
    broken = event["Records"][1]["messageId"]

    response = import_todos(event, LambdaContext())

    # THEN that message alone fails, and the valid ones beside it are stored
    assert failures(response) == [broken]
    assert len(stored(todos_db)) == len(event["Records"]) - 1


def test_a_batch_of_only_bad_messages_reports_each_of_them(
    import_todos: Handler, todos_db: Database
) -> None:
    event = copy.deepcopy(load_event("todos_import_batch"))
    for record in event["Records"]:
        record["body"] = json.dumps({"title": ""})

    response = import_todos(event, LambdaContext())  # reported, not raised: the data is bad

    assert failures(response) == message_ids(event)
    assert stored(todos_db) == {}


# -- redelivery -----------------------------------------------------------------------------


def test_a_redelivered_batch_inserts_nothing_twice(
    import_todos: Handler, todos_db: Database
) -> None:
    # GIVEN a batch that was stored, but whose invocation SQS saw fail (a timeout, say)
    event = load_event("todos_import_batch")
    import_todos(event, LambdaContext())
    first = todos_db.all("SELECT id, idempotency_key FROM todos ORDER BY id")

    # WHEN SQS delivers the same messages again, in another batch with a new one
    again = copy.deepcopy(event)
    again["Records"][0]["attributes"]["ApproximateReceiveCount"] = "2"
    extra = copy.deepcopy(again["Records"][0])
    extra["messageId"] = "5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b"
    extra["body"] = json.dumps({"title": "Only once, too"})
    again["Records"].append(extra)
    response = import_todos(again, LambdaContext())

    # THEN each message has exactly one row: the old rows kept, only the new one added
    assert failures(response) == []
    rows = todos_db.all("SELECT id, idempotency_key FROM todos ORDER BY id")
    assert rows[:3] == first
    assert [r["idempotency_key"] for r in rows[3:]] == [f"sqs:{extra['messageId']}"]


def test_a_message_twice_in_one_batch_is_one_row(import_todos: Handler, todos_db: Database) -> None:
    event = copy.deepcopy(load_event("todos_import_batch"))
    event["Records"].append(copy.deepcopy(event["Records"][0]))

    response = import_todos(event, LambdaContext())

    assert failures(response) == []
    assert len(stored(todos_db)) == 3


# -- round trips ------------------------------------------------------------------------------


@pytest.fixture
def proxied(
    app_url: str, settings: Settings, migrated: str, todos_db: Database
) -> Iterator[tuple[FaultProxy, Database]]:
    """The handler's database (as the functions' role) reached through a FaultProxy that
    counts request flights."""
    params = psycopg.conninfo.conninfo_to_dict(app_url)
    with FaultProxy(
        str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432)
    ) as proxy:
        params.update(host="127.0.0.1", port=str(proxy.port))
        database = Database(psycopg.conninfo.make_conninfo("", **params), settings=settings)
        with using(database):
            yield proxy, database
        database.close()


def test_the_valid_messages_of_a_batch_cost_one_round_trip(
    import_todos: Handler, proxied: tuple[FaultProxy, Database], todos_db: Database
) -> None:
    # GIVEN a warm sandbox: its connection is open
    proxy, database = proxied
    database.ping()
    proxy.flights = 0

    # WHEN a batch of three good messages and one bad one arrives
    response = import_todos(load_event("todos_import_partial_failure"), LambdaContext())

    # THEN the three rows went in one statement, in one flight
    assert failures(response) == [BAD_ID]
    assert proxy.flights == 1
    assert len(stored(todos_db)) == 3


@pytest.fixture
def refuses_a_title(
    raw: psycopg.Connection[tuple[object, ...]], todos_db: Database
) -> Iterator[str]:
    """A rule the database enforces but the schema module does not know about."""
    raw.execute("ALTER TABLE todos ADD CONSTRAINT todos_not_forbidden CHECK (title <> 'forbidden')")
    yield "forbidden"
    raw.execute("ALTER TABLE todos DROP CONSTRAINT todos_not_forbidden")


def test_a_row_the_database_refuses_fails_alone(
    import_todos: Handler,
    proxied: tuple[FaultProxy, Database],
    refuses_a_title: str,
    todos_db: Database,
) -> None:
    # GIVEN a batch whose second todo passes validation but breaks a database constraint
    proxy, database = proxied
    database.ping()
    proxy.flights = 0
    event = copy.deepcopy(load_event("todos_import_batch"))
    event["Records"][1]["body"] = json.dumps({"title": refuses_a_title})
    refused = event["Records"][1]["messageId"]

    # WHEN it is processed
    response = import_todos(event, LambdaContext())

    # THEN the bulk statement failed, each todo was tried alone, and only that one failed
    assert failures(response) == [refused]
    assert sorted(stored(todos_db).values()) == ["Renew passport", "Rückruf an Zoë 📞"]
    # one flight per statement (they run as the owner: the identity and the INSERT, ended by
    # one Sync), and nothing more after a refusal: the Sync rolled its transaction back; a
    # refusal may reach the proxy before the rest of its flight did (one more each)
    assert 1 + 3 <= proxy.flights <= 1 + 3 + 2


def test_an_unreachable_database_fails_the_invocation(
    import_todos: Handler, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The whole batch goes back to the queue; the messages' keys make the retry safe.
    nowhere = Database(
        "postgresql://nobody@127.0.0.1:1/none",
        settings=Settings(connect_deadline=0.5, connect_timeout=2),
    )
    with using(nowhere), pytest.raises(ConnectError):
        import_todos(load_event("todos_import_batch"), LambdaContext())


# -- the secret path --------------------------------------------------------------------------


class StubSecretsProvider(BaseProvider):
    """Stands in for Powertools' SecretsProvider: values in memory, every fetch recorded."""

    values: ClassVar[dict[str, str]] = {}
    fetches: ClassVar[list[str]] = []

    def _get(self, name: str, **kwargs: Any) -> str:
        type(self).fetches.append(name)
        return type(self).values[name]

    def _get_multiple(self, path: str, **kwargs: Any) -> dict[str, str]:
        raise NotImplementedError


SECRET_ARN = "arn:aws:secretsmanager:us-east-1:123456789012:secret:neonkit/database-AbCdEf"


@pytest.fixture
def secret_database(
    app_url: str,
    database_kind: str,
    migrated: str,
    todos_db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Database]:
    """The function configured as deployed with DatabaseSecretArn: DATABASE_SECRET, no URL."""
    StubSecretsProvider.values = {SECRET_ARN: json.dumps({"url": app_url})}
    StubSecretsProvider.fetches = []
    monkeypatch.setattr(parameters, "SecretsProvider", StubSecretsProvider)
    monkeypatch.setattr(neonkit_secrets, "_providers", {})  # a fresh sandbox: no provider yet
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.setenv("DATABASE_SECRET", SECRET_ARN)
    monkeypatch.setenv("NEONKIT_POOLED", "on" if database_kind == "pgbouncer" else "off")
    database = Database()  # reads its settings from the environment on first use, like Lambda
    with using(database):
        yield database
    database.close()


def test_the_url_comes_from_the_secret_and_is_fetched_once(
    import_todos: Handler, secret_database: Database, todos_db: Database
) -> None:
    # WHEN a sandbox handles two batches, as warm invocations
    first = import_todos(load_event("todos_import_batch"), LambdaContext())
    second = import_todos(load_event("todos_import_partial_failure"), LambdaContext())

    # THEN both worked against the database the secret names, which was read once
    assert failures(first) == []
    assert failures(second) == [BAD_ID]
    assert len(stored(todos_db)) == 6
    assert StubSecretsProvider.fetches == [SECRET_ARN]


def test_a_reconnect_within_the_cache_age_does_not_fetch_the_secret_again(
    import_todos: Handler, secret_database: Database
) -> None:
    import_todos(load_event("todos_import_batch"), LambdaContext())
    secret_database.close()  # the server closed it while the sandbox was frozen

    import_todos(load_event("todos_import_partial_failure"), LambdaContext())

    assert StubSecretsProvider.fetches == [SECRET_ARN]


# -- the template -----------------------------------------------------------------------------


def test_the_queue_is_wired_for_partial_failures_and_redrive() -> None:
    resources = template()["Resources"]
    function = resources["TodosImportFunction"]["Properties"]
    source = resources["TodosImportEventSource"]["Properties"]
    queue = resources["ImportQueue"]["Properties"]

    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert source["FunctionName"] == {"Ref": "TodosImportFunction"}
    # AWS: the visibility timeout is at least 6 x the function timeout, plus the window
    window = source["MaximumBatchingWindowInSeconds"]
    assert queue["VisibilityTimeout"] >= 6 * function["Timeout"] + window
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 5
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {
        "Fn::GetAtt": ["ImportDeadLetterQueue", "Arn"]
    }
    assert {"SQSPollerPolicy": {"QueueName": {"Fn::GetAtt": ["ImportQueue", "QueueName"]}}} in (
        function["Policies"]
    )
