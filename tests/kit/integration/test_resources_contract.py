"""The kit's fixture API (a field of every type) served by `localdev serve` keeps the OpenAPI
document generated from its declaration, for requests schemathesis makes from that document:
what the schema allows is accepted, what it refuses is a 4xx, nothing else is answered."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import positive_data_acceptance

from tests.kit.support.gadgets import TEMPLATE, create_table
from tests.kit.support.served import Served, serve

EXAMPLES = 100  # per generation mode, over all operations; a fixed seed


@pytest.fixture(scope="module")
def served(direct_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    create_table(direct_url)
    with serve(direct_url, tmp_path_factory.mktemp("gadgets"), template=TEMPLATE) as api:
        yield api


def test_the_document_is_valid_openapi_3_1(served: Served) -> None:
    schema = schemathesis.openapi.from_url(served.url + "/openapi.json")
    validate(schema.raw_schema)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_the_served_api_keeps_its_document(served: Served, mode: GenerationMode) -> None:
    schema = schemathesis.openapi.from_url(served.url + "/openapi.json")

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate, Phase.shrink],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=schema.as_strategy(mode))
    def keeps_it(case: Any) -> None:
        # `after` is an opaque cursor the API makes; one made up by a client is refused.
        made_up_cursor = bool(case.query and "after" in case.query)
        excluded = [positive_data_acceptance] if made_up_cursor else []
        case.call_and_validate(base_url=served.url, excluded_checks=excluded)

    keeps_it()
    assert " failed: " not in served.log()
