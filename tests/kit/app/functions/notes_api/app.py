"""The fixture app's HTTP API: notes, on Powertools' resolver, `neonkit.http` and `db`.

Small on purpose: what the kit's tests need from a real handler (a keyed create in one
statement, a keyset list, get, update, delete, and every kind of error answer).
"""

from __future__ import annotations

from neonkit import db

db.preconnect()  # inside Lambda's runtime: connects while the imports below run

import warnings
from typing import Any, LiteralString

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from neonkit import NotFoundError, ValidationError, http, snapstart, table

MAX_BODY_BYTES = 64 * 1024
MAX_TITLE, MAX_BODY = 200, 10_000
COLUMNS: LiteralString = "id, title, body, created_at"

logger = Logger(**http.LOGGER_JSON)  # log lines written with msgspec: cheaper
metrics = Metrics()
app = APIGatewayHttpResolver()
http.install(app, logger)
snapstart.install()
# Most requests add no metric of their own: Powertools would warn about it on every one.
warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)

notes = table("notes")


@app.post("/notes")
def create_note() -> Response[str]:
    note = parse_note(
        http.json_value(http.request_body(app.current_event, max_bytes=MAX_BODY_BYTES)),
        partial=False,
    )
    key = app.current_event.headers.get("idempotency-key")
    if key is None:
        row = db.one(
            f"INSERT INTO notes (title, body) VALUES (%(title)s, %(body)s) RETURNING {COLUMNS}",
            note,
        )
        assert row is not None
        metrics.add_metric(name="NotesCreated", unit=MetricUnit.Count, value=1)
        return http.json_response(201, to_json(row), {"Location": f"/notes/{row['id']}"})
    # One statement: a replay finds the row its first delivery made, so resending is harmless.
    row = db.one(
        "INSERT INTO notes (title, body, idempotency_key) VALUES (%(title)s, %(body)s, %(key)s)"
        " ON CONFLICT (idempotency_key) DO UPDATE SET idempotency_key = EXCLUDED.idempotency_key"
        f" RETURNING {COLUMNS}, (xmax = 0) AS created",
        {**note, "key": key},
        idempotent=True,
    )
    assert row is not None
    created = row.pop("created")
    if not created and (row["title"], row["body"]) != (note["title"], note["body"]):
        raise ValidationError(
            "this Idempotency-Key was used with another body",
            details=[{"field": "Idempotency-Key", "problem": "reused with another body"}],
        )
    headers = {"Location": f"/notes/{row['id']}"}
    if created:
        metrics.add_metric(name="NotesCreated", unit=MetricUnit.Count, value=1)
    else:
        headers["Idempotent-Replayed"] = "true"
    return http.json_response(201, to_json(row), headers)


@app.get("/notes")
def list_notes() -> Response[str]:
    query = app.current_event.query_string_parameters or {}
    limit = parse_int(query.get("limit", "20"), "limit", low=1, high=100)
    page = notes.select("id", "title", "body", "created_at").order_by("id").limit(limit + 1)
    if "after" in query:
        page = page.where("id", ">", parse_int(query["after"], "after", low=0))
    rows = db.all(page)
    more = len(rows) > limit
    rows = rows[:limit]
    next_after = str(rows[-1]["id"]) if more else None
    return http.json_response(200, {"items": [to_json(r) for r in rows], "next": next_after})


@app.get("/notes/<note_id>")
def get_note(note_id: str) -> Response[str]:
    row = db.one(notes.select("id", "title", "body", "created_at").where("id", parse_id(note_id)))
    return http.json_response(200, to_json(found(row, note_id)))


@app.patch("/notes/<note_id>")
def update_note(note_id: str) -> Response[str]:
    ident = parse_id(note_id)
    changes = parse_note(
        http.json_value(http.request_body(app.current_event, max_bytes=MAX_BODY_BYTES)),
        partial=True,
    )
    row = db.one(
        notes.where("id", ident).update(changes).returning("id", "title", "body", "created_at")
    )
    return http.json_response(200, to_json(found(row, note_id)))


@app.delete("/notes/<note_id>")
def delete_note(note_id: str) -> Response[str]:
    if not db.execute(notes.where("id", parse_id(note_id)).delete()):
        raise NotFoundError(f"note {note_id} does not exist")
    return Response(status_code=204, body="")


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # API Gateway's request id, found by a dict lookup (correlation_id_path= costs a JMESPath)
    logger.set_correlation_id(event["requestContext"]["requestId"])
    return app.resolve(event, context)


# -- input and output ---------------------------------------------------------------------


def parse_note(data: Any, *, partial: bool) -> dict[str, str]:
    """{title, body?} for a create; any of them, at least one, for an update."""
    if not isinstance(data, dict):
        raise ValidationError(
            "expected a JSON object", details=[{"field": "", "problem": "not an object"}]
        )
    problems = [
        {"field": str(name), "problem": "is not a field"}
        for name in data
        if name not in ("title", "body")
    ]
    note: dict[str, str] = {}
    for name, limit in (("title", MAX_TITLE), ("body", MAX_BODY)):
        value = data.get(name)
        if value is None:
            if name == "title" and not partial:
                problems.append({"field": name, "problem": "is required"})
            continue
        if not isinstance(value, str) or "\x00" in value:
            problems.append({"field": name, "problem": "must be text"})
        elif name == "title" and not value.strip():
            problems.append({"field": name, "problem": "must not be blank"})
        elif len(value) > limit:
            problems.append({"field": name, "problem": f"must be at most {limit} characters"})
        else:
            note[name] = value
    if partial and not note and not problems:
        problems.append({"field": "", "problem": "give title or body"})
    if problems:
        raise ValidationError("the note is not valid", details=problems)
    if not partial:
        note.setdefault("body", "")
    return note


def parse_int(text: str, name: str, *, low: int, high: int = 2**63 - 1) -> int:
    if not text.isascii() or not text.isdigit() or not low <= int(text) <= high:
        raise ValidationError(
            f"{name} must be a whole number from {low} to {high}",
            details=[{"field": name, "problem": f"must be a whole number from {low} to {high}"}],
        )
    return int(text)


def parse_id(text: str) -> int:
    return parse_int(text, "id", low=1)


def found(row: dict[str, Any] | None, note_id: str) -> dict[str, Any]:
    if row is None:
        raise NotFoundError(f"note {note_id} does not exist")
    return row


def to_json(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "created_at": row["created_at"].isoformat()}
