"""The todos HTTP API: routes only. What a todo is and how it is stored live in the layer's
`todos` package; each route documents itself in the OpenAPI document (GET /openapi.json)."""

from __future__ import annotations

from neonkit import db

db.preconnect()  # inside Lambda's runtime: connects while the imports below run

import warnings
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from neonkit import NotFoundError, http, snapstart
from todos import repository
from todos.resource import Todo

logger = Logger(**http.LOGGER_JSON)  # log lines written with msgspec: cheaper
metrics = Metrics()
app = APIGatewayHttpResolver()
api = http.Api(app, logger, title="Todos API", version="1.0.0")
snapstart.install()  # with SnapStart on: no connection in the snapshot
# Most requests add no metric of their own: Powertools would warn about it on every one.
warnings.filterwarnings("ignore", "No application metrics to publish", UserWarning)


@api.post(
    "/todos",
    summary="Create a todo (an Idempotency-Key makes retries safe)",
    body=Todo.New,
    responses={201: Todo},
    parameters=[http.IDEMPOTENCY_KEY_PARAMETER],
)
def create_todo() -> Response[str]:
    todo = Todo.New.parse(api.body())
    key = http.idempotency_key(app.current_event.headers)
    row, created = repository.create(todo, key)
    if created:
        metrics.add_metric(name="TodosCreated", unit=MetricUnit.Count, value=1)
    headers = {"Location": f"/todos/{row['id']}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return http.json_response(201, Todo.to_json(row), headers)


@api.post(
    "/todos/batch",
    summary="Create 1 to 100 todos: all or none",
    body=Todo.Batch,
    responses={201: Todo.Items},
)
def create_todos() -> Response[str]:
    rows = repository.create_many(Todo.Batch.parse(api.body()))
    metrics.add_metric(name="TodosCreated", unit=MetricUnit.Count, value=len(rows))
    return http.json_response(201, {"items": [Todo.to_json(row) for row in rows]})


@api.get(
    "/todos", summary="List todos, a page at a time", query=Todo.Query, responses={200: Todo.Page}
)
def list_todos() -> Response[str]:
    query = Todo.Query.parse(app.current_event.query_string_parameters)
    return http.json_response(200, Todo.Page.json(repository.page(query), query))


@api.get("/todos/{id}", summary="Get a todo", responses={200: Todo}, errors=[404])
def get_todo(id: str) -> Response[str]:
    return http.json_response(200, Todo.to_json(_found(repository.get(Todo.parse_id(id)))))


@api.patch(
    "/todos/{id}",
    summary="Change some fields of a todo",
    body=Todo.Changes,
    responses={200: Todo},
    errors=[404],
)
def update_todo(id: str) -> Response[str]:
    todo_id = Todo.parse_id(id)
    changes = Todo.Changes.parse(api.body())
    return http.json_response(200, Todo.to_json(_found(repository.update(todo_id, changes))))


@api.delete(
    "/todos/{id}", summary="Delete a todo", responses={204: None}, errors=[404], resource=Todo
)
def delete_todo(id: str) -> Response[str]:
    if not repository.delete(Todo.parse_id(id)):
        raise NotFoundError(f"todo {id} does not exist")
    return Response(status_code=204, body="")


def _found(row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None:
        raise NotFoundError("no such todo")
    return row


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    # API Gateway's request id, found by a dict lookup (correlation_id_path= costs a JMESPath)
    logger.set_correlation_id(event["requestContext"]["requestId"])
    return app.resolve(event, context)
