"""Hostile input over real HTTP, against the kit's fixture API: what any API on the kit
answers, whatever its resources (the sample's own corpus is in tests/todos).

`python -m localdev serve` runs the fixture template's HttpApi (as `sam local start-api`
does) on this run's database, directly or through PgBouncer. Each case is one raw HTTP/1.1
request; it must get its documented status as valid UTF-8 JSON with `error` and `message`
(API Gateway's own answers carry `message` only), echoing no stack trace, SQL, driver or file
path, within seconds; and the table must be left exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from tests.kit.support.gadgets import TEMPLATE, create_table
from tests.kit.support.hostile import LEAKS, Case, kit_cases, send
from tests.kit.support.served import ROOT, Served, serve

CORPUS = kit_cases("/gadgets", {"name": "valid", "count": 1})
SLOW = 5.0  # seconds: no case may take this long


@pytest.fixture(scope="module")
def api(
    direct_url: str, database_url: str, database_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    create_table(direct_url)
    folder = tmp_path_factory.mktemp("hostile")
    pooled = database_kind == "pgbouncer"
    with serve(database_url, folder, template=TEMPLATE, pooled=pooled) as served:
        yield served


def rows(direct_url: str) -> list[tuple[object, ...]]:
    with psycopg.connect(direct_url, autocommit=True) as conn:
        return conn.execute("SELECT * FROM gadgets ORDER BY id").fetchall()


def test_the_corpus_never_contains_what_it_looks_for() -> None:
    for case in CORPUS:
        for text in case.payloads():
            assert not [leak for leak in LEAKS if leak in text], case.name
    assert len({case.name for case in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("case", CORPUS, ids=[case.name for case in CORPUS])
def test_a_hostile_request_gets_its_documented_answer(
    case: Case, api: Served, direct_url: str
) -> None:
    before = rows(direct_url)
    reply = send(api.port, case)

    shown = reply.body[:300].decode("utf-8", "replace")
    assert reply.status == case.status, f"{case.name}: got {reply.status}: {shown}"
    assert reply.seconds < SLOW, f"{case.name} took {reply.seconds:.1f}s"
    assert reply.headers.get("content-type", "").startswith("application/json"), reply.headers
    body = reply.json()  # valid UTF-8 JSON, whatever was sent
    leaks = [leak for leak in (*LEAKS, str(ROOT)) if leak in reply.body.decode()]
    assert not leaks, f"{case.name}: the answer shows {leaks}: {shown}"
    if case.answered_by == "gateway":
        assert body == {"message": "Not Found"}, body
    else:
        assert isinstance(body.get("message"), str), body
        if case.answered_by == "function" or "error" in body:
            assert isinstance(body.get("error"), str), body
            assert body.get("request_id"), body
    if case.status == 422:
        assert body["details"], body
    assert rows(direct_url) == before, f"{case.name} changed the table"


def test_no_function_raised(api: Served) -> None:
    assert " failed: " not in api.log()  # API Gateway's bare 500 for a function that raised
