"""The todos routes in the API's OpenAPI document: the statuses each can answer, the schemas
from the declaration. (tests/app/test_contract.py checks the document of any app.)"""

from __future__ import annotations

import sys
from typing import Any

import pytest
from localdev.testing import load_handler


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    handler = load_handler("ApiFunction")
    return sys.modules[handler.__module__].api.openapi()  # type: ignore[no-any-return]


def test_each_operation_lists_the_statuses_it_can_answer(document: dict[str, Any]) -> None:
    todos = document["paths"]["/todos/{id}"]
    assert set(todos["get"]["responses"]) == {"200", "404", "422", "503"}
    assert set(todos["patch"]["responses"]) == {"200", "400", "404", "413", "422", "503"}
    assert set(todos["delete"]["responses"]) == {"204", "404", "422", "503"}
    assert set(document["paths"]["/todos"]["post"]["responses"]) == {
        "201",
        "400",
        "413",
        "422",
        "503",
    }
    assert set(document["paths"]["/todos"]["get"]["responses"]) == {"200", "422", "503"}
    schemas = document["components"]["schemas"]
    assert schemas["Todo"]["properties"]["due"] == {"type": ["string", "null"], "format": "date"}
    assert schemas["TodoNew"]["required"] == ["title"]
    assert schemas["TodoNew"]["properties"]["title"]["maxLength"] == 500
