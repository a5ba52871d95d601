"""The OpenAPI 3.1 document of an API, made from its routes and its resources' declarations.

Never written by hand: each route registered through `neonkit.http.Api` names its body, its
answers and the errors it adds; the rest follows from what it takes (a body: 400, 413, 422; a
path or query parameter: 422; the database: 503). The API serves it at GET /openapi.json;
`python -m neonkit.openapi functions/api/app.py -o openapi.json` writes it to a file.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from http import HTTPStatus
from pathlib import Path
from typing import Any

from ._routes import JSON, PATH_VARIABLE, Documented, DocumentedApi, Operation
from .resources import Resource

__all__ = ["ERROR_SCHEMA", "document", "main"]

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "error": {"type": "string", "description": "what kind of error: validation_failed..."},
        "message": {"type": "string"},
        "details": {
            "type": "array",
            "description": "one entry per bad field or parameter",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "problem": {"type": "string"}},
                "required": ["field", "problem"],
            },
        },
        "request_id": {"type": ["string", "null"], "description": "finds the request's logs"},
    },
    "required": ["error", "message"],
}
_ERROR_REF = {"$ref": "#/components/schemas/Error"}


# A 401 comes from API Gateway's authorizer ({"message": "Unauthorized"}) or from the API
# (the Error shape): both have a message.
_UNAUTHORIZED: dict[str, Any] = {
    "description": "Unauthorized: no valid bearer token",
    "content": {
        JSON: {
            "schema": {
                "type": "object",
                "properties": {"message": {"type": "string"}},
                "required": ["message"],
            }
        }
    },
}


def document(api: DocumentedApi) -> dict[str, Any]:
    """The whole document: every operation of `api`, every schema they refer to, and the
    bearer token the routes not `public` need when the API has an issuer."""
    schemas: dict[str, Any] = {"Error": ERROR_SCHEMA}
    issuer = api.bearer_issuer()
    paths: dict[str, dict[str, Any]] = {}
    for operation in api.operations:
        entry = _operation(operation, schemas)
        if issuer and operation.public:
            entry["security"] = []  # open, whatever the document's default
        elif issuer:
            entry["responses"] = _with_401(entry["responses"])
        paths.setdefault(operation.path, {})[operation.method.lower()] = entry
    info: dict[str, Any] = {"title": api.title, "version": api.version}
    if api.description:
        info["description"] = api.description
    found: dict[str, Any] = {"openapi": "3.1.0", "info": info, "paths": paths}
    components: dict[str, Any] = {"schemas": dict(sorted(schemas.items()))}
    if issuer:
        found["security"] = [{"bearer": []}]
        components["securitySchemes"] = {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": f"a token of {issuer}, verified by API Gateway's JWT authorizer",
            }
        }
    found["components"] = components
    return found


def _with_401(responses: dict[str, Any]) -> dict[str, Any]:
    """The responses with 401, in order of status."""
    return dict(sorted({**responses, "401": _UNAUTHORIZED}.items()))


def _operation(operation: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    entry: dict[str, Any] = {"summary": operation.summary}
    if operation.operation_id:
        entry["operationId"] = operation.operation_id
    if operation.description:
        entry["description"] = operation.description
    resource = _resource_of(operation)
    tags = list(operation.tags) or ([resource.table_name] if resource else [])
    if tags:
        entry["tags"] = tags
    parameters = [dict(p) for p in operation.parameters]
    given = {p["name"] for p in parameters}
    for name in PATH_VARIABLE.findall(operation.path):
        if name not in given:
            schema = (
                resource.key_field.json_schema()
                if resource and name == "id"
                else {"type": "string"}
            )
            if resource and name == "id" and resource.key_field.kind == "integer":
                schema = {**schema, "minimum": 1}
            parameters.insert(0, {"name": name, "in": "path", "required": True, "schema": schema})
    if operation.query is not None:
        parameters += operation.query.parameters()
    if parameters:
        entry["parameters"] = parameters
    if operation.body is not None:
        schemas.update(operation.body.schema_components())
        content = {JSON: {"schema": operation.body.schema_ref()}}
        entry["requestBody"] = {"required": True, "content": content}  # fmt: skip
    responses: dict[str, Any] = {}
    for status in operation.statuses():
        responses[str(status)] = _response(status, operation, schemas)
    entry["responses"] = responses
    return entry


# RFC 9110's names, which Python 3.13's http module uses and 3.11's does not: the document must
# be the same whatever Python serves it.
_RFC_9110_NAMES = {413: "Content Too Large", 422: "Unprocessable Content"}


def _response(status: int, operation: Operation, schemas: dict[str, Any]) -> dict[str, Any]:
    name = _RFC_9110_NAMES.get(status) or HTTPStatus(status).phrase
    answer: dict[str, Any] = {"description": name}
    if status in operation.responses:
        documented = operation.responses[status]
        if documented is not None:
            schemas.update(documented.schema_components())
            answer["content"] = {JSON: {"schema": documented.schema_ref()}}
        elif status != 204:
            answer["content"] = {JSON: {"schema": {"type": "object"}}}
        return answer
    answer["content"] = {JSON: {"schema": _ERROR_REF}}
    if status == 503:
        answer["headers"] = {
            "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
        }
    return answer


def _resource_of(operation: Operation) -> type[Resource] | None:
    """The resource a route serves: named by its body or one of its answers."""
    candidates: list[Documented | None] = [operation.body, *operation.responses.values()]
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, Resource):
            return candidate
        owner = getattr(candidate, "resource", None)
        if isinstance(owner, type) and issubclass(owner, Resource):
            return owner
    return operation.resource


def main(argv: list[str] | None = None) -> int:
    """Write the document of the API in a function's module (the `Api` named `api`)."""
    parser = argparse.ArgumentParser(
        prog="python -m neonkit.openapi", description="Write an API's OpenAPI document."
    )
    parser.add_argument("module", help="the function's module, e.g. functions/api/app.py")
    parser.add_argument("--attribute", default="api", help="the neonkit.http.Api in it")
    parser.add_argument("-o", "--output", help="the file to write (default: standard output)")
    args = parser.parse_args(argv)
    path = Path(args.module).resolve()
    sys.path.insert(0, str(path.parent))
    spec = importlib.util.spec_from_file_location(path.stem, path)
    if spec is None or spec.loader is None:
        parser.error(f"cannot import {args.module}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    text = json.dumps(getattr(module, args.attribute).openapi(), indent=2, ensure_ascii=False)
    if args.output:
        Path(args.output).write_text(text + "\n")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
