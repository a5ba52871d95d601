"""Powertools' HTTP resolver wired to the kit: routes that document themselves, JSON errors,
bounded bodies, no open transaction.

    app = APIGatewayHttpResolver()
    api = http.Api(app, logger, title="Todos", version="1.0.0")

    @api.get("/todos/{id}", summary="Get a todo", responses={200: Todo}, errors=[404])
    def get_todo(id: str) -> Response[str]:
        return http.json_response(200, Todo.to_json(found(repository.get(Todo.parse_id(id)))))

`error_response` is the one place an exception becomes a status and a JSON body; the API
serves its OpenAPI document (`neonkit.openapi`) at GET /openapi.json, built on first request.
"""

from __future__ import annotations

import base64
import binascii
import logging
import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from aws_lambda_powertools.event_handler import Response

from . import _json
from ._current import db
from ._error_response import ErrorResponse, error_response
from ._routes import JSON, Documented, Operation, Schema, resolver_path
from .errors import BadRequestError, PayloadTooLargeError

if TYPE_CHECKING:
    from aws_lambda_powertools import Logger
    from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
    from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent

    from ._listing import ListQueryShape
    from .resources import Resource

__all__ = [
    "JSON",
    "LOGGER_JSON",
    "Api",
    "Documented",
    "ErrorResponse",
    "Operation",
    "error_response",
    "idempotency_key",
    "json_response",
    "request_body",
]

DEFAULT_MAX_BODY = 256 * 1024  # a batch of 100 full rows fits; API Gateway allows 10 MB
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")  # printable ASCII, no spaces
Handler = TypeVar("Handler", bound=Callable[..., Any])

# Logger(**LOGGER_JSON): Powertools' log lines written and read with msgspec, about a fifth
# cheaper a line than with the json module (bench/request.py), and valid UTF-8 whatever they
# hold; a message that is JSON text is still logged as the value it holds.
LOGGER_JSON: dict[str, Any] = {
    "json_serializer": _json.log_line,
    "json_deserializer": _json.log_message,
}

# -- requests and responses ---------------------------------------------------------------


def request_body(event: BaseProxyEvent, *, max_bytes: int = DEFAULT_MAX_BODY) -> bytes:
    """The request's body as bytes: 413 over `max_bytes`, 400 for bad base64. Whether it is
    JSON is for the parser (`Resource.New.parse`, `neonkit.http.json_value`) to say."""
    raw = event.body or ""
    if event.is_base64_encoded:
        try:
            data = base64.b64decode(raw, validate=True)
        except (binascii.Error, ValueError):
            raise BadRequestError("the body is not valid base64") from None
    else:
        data = raw.encode("utf-8", "surrogatepass")
    if len(data) > max_bytes:
        raise PayloadTooLargeError(f"the body is {len(data)} bytes; the limit is {max_bytes} bytes")
    return data


def json_value(data: bytes) -> Any:
    """Any JSON value (for a route without a declared body): 400 when it is not JSON."""
    return _json.loads(data)


def json_response(
    status: int, body: Any, headers: Mapping[str, str] | None = None
) -> Response[str]:
    """A JSON answer; its text is valid UTF-8 whatever `body` holds."""
    return Response(
        status_code=status, content_type=JSON, body=_json.dumps(body), headers=dict(headers or {})
    )


def idempotency_key(headers: Mapping[str, str]) -> str | None:
    """The request's `Idempotency-Key` (1-200 printable ASCII characters), or None; 400 if bad."""
    key = headers.get("idempotency-key")
    if key is None:
        return None
    if not _KEY.match(key):
        raise BadRequestError(
            "the Idempotency-Key header must be 1-200 printable ASCII characters without spaces"
        )
    return key


IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "makes a retry safe: the same key and body return the first result",
    "schema": {"type": "string", "pattern": "^[\\x21-\\x7e]{1,200}$"},
}


# -- routes that document themselves ------------------------------------------------------

_HEALTH = Schema(
    "Health",
    {
        "type": "object",
        "properties": {"status": {"const": "ok"}},
        "required": ["status"],
    },
)


class Api:
    """The resolver with the kit's error handling, and the record of its documented routes."""

    def __init__(
        self,
        app: ApiGatewayResolver,
        logger: Logger,
        *,
        title: str,
        version: str,
        description: str | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.app, self.logger = app, logger
        self.title, self.version, self.description = title, version, description
        self.max_body_bytes = max_body_bytes
        self.operations: list[Operation] = []
        self._document: dict[str, Any] | None = None
        self._issuer: Callable[[], str | None] = lambda: None  # auth.install sets it
        install(app, logger)

        @self.get(
            "/openapi.json",
            summary="This API's OpenAPI document",
            responses={200: None},
            database=False,
            public=True,
        )
        def get_openapi() -> Response[str]:
            return json_response(200, self.openapi())

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        responses: Mapping[int, Documented | None],
        body: Documented | None = None,
        query: ListQueryShape | None = None,
        parameters: Sequence[Mapping[str, Any]] = (),
        errors: Sequence[int] = (),
        database: bool = True,
        public: bool = False,
        description: str | None = None,
        tags: Sequence[str] = (),
        resource: type[Resource] | None = None,
    ) -> Callable[[Handler], Handler]:
        """Register a route on the resolver and record it for OpenAPI. `path` is written as
        OpenAPI and API Gateway write it (`/todos/{id}`); the function gets `id=` as text."""
        operation = Operation(
            method.upper(), path, summary, dict(responses), body, query, tuple(parameters),
            tuple(errors), database, public, description, tuple(tags), resource,
        )  # fmt: skip
        register = self.app.route(resolver_path(path), operation.method)

        def record(func: Handler) -> Handler:
            self.operations.append(operation._replace(operation_id=func.__name__))
            self._document = None
            return register(func)

        return record

    def get(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **options)

    def post(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **options)

    def put(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **options)

    def patch(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **options)

    def delete(self, path: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **options)

    def body(self) -> bytes:
        """The current request's body, within `max_body_bytes` (413 beyond)."""
        return request_body(self.app.current_event, max_bytes=self.max_body_bytes)

    def health(self, path: str = "/health") -> None:
        """A public route that answers 200 when the function and its database do: one round
        trip (`db.ping()`), else the database's 503 with Retry-After. For monitors and load
        balancers; the template must leave it open at the gateway too."""

        @self.get(
            path,
            summary="Whether the API and its database answer",
            responses={200: _HEALTH},
            public=True,
        )
        def get_health() -> Response[str]:
            db.ping()
            return json_response(200, {"status": "ok"})

    def require_bearer(self, issuer: Callable[[], str | None]) -> None:
        """Document that every route not `public` needs a bearer token of `issuer()` (read
        when the document is made; None: the API is open). `auth.install` calls it."""
        self._issuer = issuer
        self._document = None

    def bearer_issuer(self) -> str | None:
        return self._issuer()

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI 3.1 document of every route, built on first use and kept."""
        if self._document is None:
            from .openapi import document

            self._document = document(self)
        return self._document


def install(app: ApiGatewayResolver, logger: Logger) -> None:
    """Map every error through `error_response`, answer unknown routes with JSON, and make
    sure no request leaves a transaction open. (`Api` calls it.)"""

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]  # Powertools' is untyped
    def handle_error(exc: Exception) -> Response[str]:
        result = error_response(exc, _request_id(app))
        if result.status >= 500 and result.status != 503:
            logger.exception("request failed", extra={"error_type": type(exc).__name__})
        elif result.status == 503:
            logger.warning("database unavailable", extra={"reason": str(exc)})
        return json_response(result.status, result.body, result.headers)

    @app.not_found
    def not_found(exc: Exception) -> Response[str]:
        event = app.current_event
        method, path = _json.shown(event.http_method, 20), _json.shown(event.path)
        body = {
            "error": "not_found",
            "message": f"no route for {method} {path}",
            "request_id": _request_id(app),
        }
        return json_response(404, body)

    def end_request(app: ApiGatewayResolver, next_middleware: Callable[..., Any]) -> Any:
        started = time.perf_counter()
        status = 500
        try:
            response = next_middleware(app)
            status = response.status_code
            return response
        except Exception as exc:  # the exception handler answers it after this middleware
            status = error_response(exc).status
            raise
        finally:
            db.ensure_idle()
            if logger.log_level <= logging.INFO:  # build no line that would not be written
                event = app.current_event
                logger.info(
                    "request",
                    extra={
                        "method": event.http_method,
                        "path": event.path,
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )

    app.use(middlewares=[end_request])


def _request_id(app: ApiGatewayResolver) -> str | None:
    try:
        return str(app.lambda_context.aws_request_id)
    except AttributeError:
        return None
