"""Importing todos from an SQS queue: every valid message of a batch in one INSERT.

Powertools' `BatchProcessor` calls a handler once per record; inserting there would cost one
round trip per message. So a batch is imported in two steps:

1. `import_batch(records)` parses and validates every body (`Todo.New.parse`), then writes
   all the valid todos with one multi-row `INSERT ... ON CONFLICT (idempotency_key) DO
   NOTHING`: one round trip. If the database refuses that statement (a row it will not take),
   each todo is inserted on its own, so only the rows it refuses fail.
2. `BatchImport.record_handler` hands each record's outcome to `BatchProcessor`: it raises for
   a message that failed (reported in batchItemFailures: SQS delivers it again, and moves it
   to the dead-letter queue after maxReceiveCount) and returns for one that is stored.

A message's row carries `idempotency_key = 'sqs:' || messageId`, claimed by the same statement
that inserts it: a message delivered twice (SQS delivers at least once) inserts one row.
(A client's Idempotency-Key is stored as 'http:<key>': the two never meet.)
A database that cannot be reached fails the whole invocation (`UnavailableError` is raised):
SQS redelivers the batch, and the keys make that safe.

Whose todo: the message attribute `owner` (a String, the user's id as the API's tokens give it
in `sub`), set by whoever sends the message (sending needs IAM rights on the queue); without
it the todo is the anonymous caller's. Each owner's todos are inserted as that owner
(`db.as_user`), so row-level security checks them like the API's own: one INSERT per owner.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from neonkit import DatabaseError, RequestError, ValidationError, db, table
from neonkit.auth import ANONYMOUS, MAX_SUBJECT

from .resource import Todo

KEY_PREFIX = "sqs:"
OWNER_ATTRIBUTE = "owner"
todos = table("todos")


class SQSMessage(Protocol):
    """What the record handler needs of Powertools' `SQSRecord`."""

    @property
    def message_id(self) -> str: ...


class RejectedMessage(Exception):
    """A message that was not imported; its text says why (and names no other message)."""


@dataclass
class BatchImport:
    """The outcome of each message of one batch, by message id."""

    inserted: set[str] = field(default_factory=set)  # stored by this delivery
    duplicates: set[str] = field(default_factory=set)  # stored by an earlier delivery
    failed: dict[str, RejectedMessage] = field(default_factory=dict)
    statements: int = 0  # INSERT statements sent (1 unless the fallback ran)

    def record_handler(self, record: SQSMessage) -> str:
        """For `process_partial_response`: raise for a failed message, else say what happened."""
        error = self.failed.get(record.message_id)
        if error is not None:
            raise error
        return "inserted" if record.message_id in self.inserted else "duplicate"


def import_batch(records: Iterable[Mapping[str, Any]]) -> BatchImport:
    """Validate every record, then store the valid ones in as few statements as possible."""
    result = BatchImport()
    valid: dict[str, dict[str, dict[str, Any]]] = {}  # owner -> message id -> todo
    for record in records:
        message_id = str(record["messageId"])
        try:
            owner = parse_owner(record.get("messageAttributes"))
            valid.setdefault(owner, {})[message_id] = parse_body(record.get("body"))
        except RejectedMessage as exc:
            result.failed[message_id] = exc
    for owner, todos_by_id in valid.items():
        with db.as_user(owner):
            _insert_all(todos_by_id, result)
    return result


def _insert_all(todos_by_id: Mapping[str, dict[str, Any]], result: BatchImport) -> None:
    try:
        _insert(todos_by_id, result)
    except DatabaseError:
        # One row the database refuses fails the whole statement: find it, keep the others.
        for message_id, todo in todos_by_id.items():
            try:
                _insert({message_id: todo}, result)
            except DatabaseError as exc:
                result.failed[message_id] = RejectedMessage(f"the database refused it: {exc}")


def parse_owner(attributes: Any) -> str:
    """The message's `owner` attribute (a String), or the anonymous caller without one."""
    found = attributes.get(OWNER_ATTRIBUTE) if isinstance(attributes, Mapping) else None
    if found is None:
        return ANONYMOUS
    owner = found.get("stringValue") if isinstance(found, Mapping) else None
    if (
        not isinstance(found, Mapping)
        or found.get("dataType") != "String"
        or not isinstance(owner, str)
        or not 0 < len(owner) <= MAX_SUBJECT
        or "\x00" in owner
    ):
        raise RejectedMessage(
            f"the {OWNER_ATTRIBUTE} attribute must be a String of 1-{MAX_SUBJECT} characters"
        )
    return owner


def parse_body(body: Any) -> dict[str, Any]:
    """One message body: a JSON todo, as POST /todos takes it (the same parser, the same
    answers: anything it refuses fails this message alone)."""
    if not isinstance(body, str):
        raise RejectedMessage("the message has no body")
    try:
        return Todo.New.parse(body.encode("utf-8", "surrogatepass"))
    except ValidationError as exc:
        problems = "; ".join(f"{d['field'] or 'body'} {d['problem']}" for d in exc.details)
        raise RejectedMessage(f"invalid todo: {problems}") from None
    except RequestError as exc:  # not JSON, not UTF-8, nested too deeply, a number too long
        raise RejectedMessage(exc.message) from None


def _insert(todos_by_id: Mapping[str, dict[str, Any]], result: BatchImport) -> None:
    """One multi-row INSERT; keys already stored are skipped by the same statement."""
    rows = [
        {
            **todo,
            "idempotency_key": KEY_PREFIX + message_id,
            "request_hash": Todo.fingerprint(todo),
        }
        for message_id, todo in todos_by_id.items()
    ]
    query = (
        todos.insert(rows)
        .on_conflict("owner", "idempotency_key")  # keys are per owner (migrations/0002)
        .ignore()
        .returning("idempotency_key")
    )
    result.statements += 1
    stored = {str(row["idempotency_key"])[len(KEY_PREFIX) :] for row in db.all(query)}
    for message_id in todos_by_id:
        (result.inserted if message_id in stored else result.duplicates).add(message_id)
