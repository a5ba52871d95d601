"""template.yaml: who may call the API. With AuthIssuer and AuthAudience empty no route asks for
a token (an open API, and its ApiAuth output says so); set, every route but GET /openapi.json
and GET /health has the JWT authorizer, and the API function knows (NEONKIT_AUTH_ISSUER). Read
as a local run resolves the template (conditions and intrinsics evaluated, as CloudFormation
would)."""

from __future__ import annotations

from pathlib import Path

from localdev.testing import JwtAuthorizer, Template

TEMPLATE = Path(__file__).resolve().parents[2] / "template.yaml"
ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_AbCdEf"


def authorizers(overrides: dict[str, str]) -> dict[str, JwtAuthorizer | None]:
    function = Template.load(TEMPLATE, overrides).function("ApiFunction")
    return {route.key: route.authorizer for route in function.routes}


def test_with_the_parameters_empty_the_api_is_open_and_says_so() -> None:
    assert authorizers({}) == {
        "ANY /{proxy+}": None,
        "GET /openapi.json": None,
        "GET /health": None,
    }
    template = Template.load(TEMPLATE)
    output = template.resolver.resolve(template.document["Outputs"]["ApiAuth"]["Value"], "x")
    assert output.startswith("OPEN: no authorizer")
    assert template.function("ApiFunction").environment["NEONKIT_AUTH_ISSUER"] == ""


def test_with_an_issuer_every_route_but_the_document_and_health_needs_a_token() -> None:
    overrides = {"AuthIssuer": ISSUER, "AuthAudience": "client-a,client-b"}
    assert authorizers(overrides) == {
        "ANY /{proxy+}": JwtAuthorizer("Jwt", ISSUER, ("client-a", "client-b")),
        "GET /openapi.json": None,
        "GET /health": None,
    }
    template = Template.load(TEMPLATE, overrides)
    output = template.resolver.resolve(template.document["Outputs"]["ApiAuth"]["Value"], "x")
    assert output.startswith(f"A bearer token from {ISSUER}")
    assert template.function("ApiFunction").environment["NEONKIT_AUTH_ISSUER"] == ISSUER


def test_the_migrations_run_as_the_owner_when_given() -> None:
    owner = "postgresql://neondb_owner:pw@ep-x-pooler.us-east-1.aws.neon.tech/neondb"
    functions = "postgresql://app_runtime:pw@ep-x-pooler.us-east-1.aws.neon.tech/neondb"
    both = Template.load(TEMPLATE, {"DatabaseUrl": functions, "MigrationsDatabaseUrl": owner})
    assert both.function("MigrateFunction").environment["DATABASE_URL"] == owner
    assert both.function("ApiFunction").environment["DATABASE_URL"] == functions
    one = Template.load(TEMPLATE, {"DatabaseUrl": functions})
    assert one.function("MigrateFunction").environment["DATABASE_URL"] == functions
