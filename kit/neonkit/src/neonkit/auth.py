"""Who is calling, for the database: the claims API Gateway's JWT authorizer verified become
the identity that row-level security policies read (`db.as_user`).

    app = APIGatewayHttpResolver()
    api = http.Api(app, logger, title="Todos API", version="1.0.0")
    auth.install(api)  # every request's statements run as its caller

The function never verifies a token: API Gateway did, and only a route with its authorizer
passes claims (`requestContext.authorizer.jwt.claims`). The caller is the token's `sub`.
An event without claims:
- with NEONKIT_AUTH_ISSUER set (the template's AuthIssuer: the gateway requires a token), did
  not come through the authorizer: 401 on every route not marked `public`, no statement sent;
- without it (no authorizer, as under `make dev`), is the ANONYMOUS caller: policies still
  apply, so anonymous callers share the anonymous rows and see nobody else's.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ._current import db
from ._routes import resolver_path
from ._settings import Settings
from .errors import UnauthorizedError

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver

    from .http import Api

__all__ = ["ANONYMOUS", "MAX_SUBJECT", "caller", "claims", "install"]

ANONYMOUS = "anonymous"
MAX_SUBJECT = 255  # longer than any provider's `sub` (Cognito, Auth0, Clerk: under 100)


def claims(event: Mapping[str, Any]) -> dict[str, Any] | None:
    """The claims API Gateway verified for this request, or None (no authorizer ran)."""
    context = event.get("requestContext")
    authorizer = context.get("authorizer") if isinstance(context, Mapping) else None
    jwt = authorizer.get("jwt") if isinstance(authorizer, Mapping) else None
    found = jwt.get("claims") if isinstance(jwt, Mapping) else None
    return dict(found) if isinstance(found, Mapping) else None


def caller(event: Mapping[str, Any], *, required: bool) -> str:
    """The caller's identity: the verified `sub`; ANONYMOUS without claims unless `required`
    (then 401). Claims without a usable `sub` are a 401 too: such a caller can own nothing."""
    found = claims(event)
    if found is None:
        if required:
            raise UnauthorizedError("this route needs a caller: send a bearer token")
        return ANONYMOUS
    subject = found.get("sub")
    if not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT or "\x00" in subject:
        raise UnauthorizedError("the token names no subject (sub)")
    return subject


def install(api: Api) -> None:
    """Run every request's statements as its caller (`db.as_user`), each still one round trip.
    Routes registered with `public=True` need no caller (the OpenAPI document). With an issuer
    set, the OpenAPI document says which routes need its bearer token."""

    # Both read on first use, not at import: the issuer the gateway checks tokens of (the
    # middleware and the OpenAPI document share one reading), and the public routes as the
    # resolver registered them (Api.route: GET /todos/<id>).
    @functools.cache
    def issuer() -> str | None:
        return Settings.from_env().auth_issuer or None

    @functools.cache
    def public_routes() -> frozenset[tuple[str, str]]:
        return frozenset((op.method, resolver_path(op.path)) for op in api.operations if op.public)

    def run_as_caller(app: ApiGatewayResolver, next_middleware: Callable[..., Any]) -> Any:
        route = app.context.get("_route")  # the route the resolver matched (Powertools)
        public = route is not None and (route.method, route.path) in public_routes()
        user = caller(app.current_event.raw_event, required=issuer() is not None and not public)
        with db.as_user(user):
            return next_middleware(app)

    api.app.use(middlewares=[run_as_caller])
    api.require_bearer(issuer)
