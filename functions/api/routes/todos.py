"""The sample's routes: todos. What a todo is and how it is stored live in the layer's `todos`
package; each route documents itself in the OpenAPI document (GET /openapi.json)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Metrics
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.metrics import MetricUnit
from neonkit import NotFoundError, http
from todos import repository
from todos.resource import Todo

metrics = Metrics()  # instances share one set of metrics: app.py's handler publishes them


def add_todos_routes(api: http.Api) -> None:
    """Create (an Idempotency-Key makes retries safe), batch create, list, get, change and
    delete todos."""
    app = api.app

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
        "/todos",
        summary="List todos, a page at a time",
        query=Todo.Query,
        responses={200: Todo.Page},
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
