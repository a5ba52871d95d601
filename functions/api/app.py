"""The todos HTTP API: routes only. Validation and SQL live in the layer's `todos` package."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from neonkit import NotFoundError, http, snapstart
from todos import repository, schema

MAX_BODY_BYTES = 256 * 1024  # a batch of 100 full todos fits; API Gateway would allow 10 MB

logger = Logger()
metrics = Metrics()
app = APIGatewayHttpResolver()
http.install(app, logger)
snapstart.install()  # with SnapStart on: no connection in the snapshot


@app.post("/todos")
def create_todo() -> Response[str]:
    todo = schema.parse_new(http.json_body(app.current_event, max_bytes=MAX_BODY_BYTES))
    key = schema.idempotency_key(app.current_event.headers)
    row, created = repository.create(todo, key)
    if created:
        metrics.add_metric(name="TodosCreated", unit=MetricUnit.Count, value=1)
    headers = {"Location": f"/todos/{row['id']}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return http.json_response(201, schema.to_json(row), headers)


@app.post("/todos/batch")
def create_todos() -> Response[str]:
    new = schema.parse_batch(http.json_body(app.current_event, max_bytes=MAX_BODY_BYTES))
    rows = repository.create_many(new)
    metrics.add_metric(name="TodosCreated", unit=MetricUnit.Count, value=len(rows))
    return http.json_response(201, {"items": [schema.to_json(row) for row in rows]})


@app.get("/todos")
def list_todos() -> Response[str]:
    query = schema.parse_list_query(app.current_event.query_string_parameters)
    rows = repository.page(query)
    more = len(rows) > query.limit
    rows = rows[: query.limit]
    after = schema.encode_cursor(rows[-1], query.sort) if more else None
    return http.json_response(200, {"items": [schema.to_json(r) for r in rows], "next": after})


@app.get("/todos/<todo_id>")
def get_todo(todo_id: str) -> Response[str]:
    return http.json_response(200, schema.to_json(_found(repository.get(schema.parse_id(todo_id)))))


@app.patch("/todos/<todo_id>")
def update_todo(todo_id: str) -> Response[str]:
    ident = schema.parse_id(todo_id)
    changes = schema.parse_changes(http.json_body(app.current_event, max_bytes=MAX_BODY_BYTES))
    return http.json_response(200, schema.to_json(_found(repository.update(ident, changes))))


@app.delete("/todos/<todo_id>")
def delete_todo(todo_id: str) -> Response[str]:
    if not repository.delete(schema.parse_id(todo_id)):
        raise NotFoundError(f"todo {todo_id} does not exist")
    return Response(status_code=204, body="")


def _found(row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None:
        raise NotFoundError("no such todo")
    return row


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
