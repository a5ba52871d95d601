"""The deployed queue, schedule and migrations: a message imported, functions invoked by hand."""

from __future__ import annotations

import json

from tests.todos.e2e.conftest import Api, invoke, needs_stack

pytestmark = needs_stack


def test_a_queued_message_becomes_a_todo(api: Api, outputs: dict[str, str], tag: str) -> None:
    import boto3

    # WHEN one todo is sent to the import queue
    boto3.client("sqs").send_message(
        QueueUrl=outputs["ImportQueueUrl"],
        MessageBody=json.dumps({"title": "Imported from the queue", "tags": [tag]}),
    )

    # THEN it shows up in the API once the consumer has run (batching window: 5 s)
    reply = api.eventually(f"/todos?tag={tag}", lambda r: r.status == 200 and r.body["items"])
    assert [t["title"] for t in reply.body["items"]] == ["Imported from the queue"]
    api.call("DELETE", f"/todos/{reply.body['items'][0]['id']}")


def test_the_migrations_are_all_applied(outputs: dict[str, str]) -> None:
    status = invoke(outputs["MigrateFunctionName"], {"action": "status"})

    assert status["migrations"], status
    assert {m["state"] for m in status["migrations"]} == {"applied"}
    assert invoke(outputs["MigrateFunctionName"], {"action": "migrate"}) == {"applied": []}


def test_the_purge_can_run_by_hand(outputs: dict[str, str]) -> None:
    result = invoke(outputs["TodosPurgeFunctionName"], {})

    assert result["finished"] is True
    assert result["purged"] >= 0
