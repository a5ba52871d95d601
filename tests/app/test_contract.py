"""The app's OpenAPI document, checked against the app, the template and the served API.

The document is generated from the routes and the resources' declarations (never written by
hand), so these tests say that generating it is right: it is valid OpenAPI 3.1; it holds
every route the function routes and every route the template gives API Gateway; and the API
served by `localdev serve` on the embedded database keeps it, for requests schemathesis
generates from it (valid ones and invalid ones): no server error, no status, header or body
the document does not describe, valid data accepted and invalid data refused.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from localdev.testing import Template, load_handler
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from tests.kit.support.served import Served, serve

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = 150  # per generation mode, over all operations: a few seconds each, fixed seed


@pytest.fixture(scope="module")
def api() -> Any:
    handler = load_handler("ApiFunction")
    return sys.modules[handler.__module__].api


@pytest.fixture(scope="module")
def document(api: Any) -> dict[str, Any]:
    return api.openapi()  # type: ignore[no-any-return]


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    validate(document)
    assert document["openapi"] == "3.1.0"


def test_every_route_of_the_function_is_documented(api: Any, document: dict[str, Any]) -> None:
    # Powertools' own route table (private, read here only): nothing bypassed the record
    routes = api.app._static_routes + api.app._dynamic_routes
    registered = {(route.method.upper(), route.openapi_path) for route in routes}
    documented = {
        (method.upper(), path) for path, item in document["paths"].items() for method in item
    }
    assert registered == documented
    assert len(registered) >= 7


def test_every_route_of_the_template_is_documented_or_the_catch_all(
    api: Any, document: dict[str, Any]
) -> None:
    function = Template.load(ROOT / "template.yaml").function("ApiFunction")
    keys = {route.key for route in function.routes}
    assert "ANY /{proxy+}" in keys  # routes are declared once: in the function
    for key in keys - {"ANY /{proxy+}"}:
        method, path = key.split(" ", 1)
        assert method.lower() in document["paths"][path], key
    # A route meant to stay public (no authorizer) has a route of its own in the template.
    for operation in api.operations:
        if operation.public:
            assert f"{operation.method} {operation.path}" in keys


def test_make_openapi_writes_the_same_document(document: dict[str, Any], tmp_path: Path) -> None:
    from neonkit.openapi import main

    out = tmp_path / "openapi.json"
    assert main([str(ROOT / "functions" / "api" / "app.py"), "-o", str(out)]) == 0
    assert json.loads(out.read_text()) == json.loads(json.dumps(document))


@pytest.fixture(scope="module")
def served(migrated: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with serve(migrated, tmp_path_factory.mktemp("contract")) as api:
        yield api


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_the_served_api_keeps_its_document(served: Served, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(served.url + "/openapi.json")

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,  # the same requests on every run
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=schema.as_strategy(mode))
    def keeps_it(case: Any) -> None:
        # Two valid inputs are refused by design, though they fit their schema: a list's
        # `after` cursor the client made up (the API makes them), and an Idempotency-Key used
        # before with another body (422, as the IETF draft says). Every other check runs.
        made_up_cursor = bool(case.query and "after" in case.query)
        reused_key = bool(case.headers and "Idempotency-Key" in case.headers)
        excluded = [positive_data_acceptance] if made_up_cursor or reused_key else []
        case.call_and_validate(base_url=served.url, excluded_checks=excluded)

    keeps_it()
    assert " failed: " not in served.log()  # no function raised (API Gateway's bare 500)
