"""The round-trip budget, counted on the wire: one per warm request, two after an idle gap.

The kit's fixture app (tests/kit/app) serves its events with `db` behind a FaultProxy, which counts
request flights (client data after the server last spoke: one round trip each). A ping
before every statement, or a BEGIN/COMMIT around single statements, fails these tests.
"""

from __future__ import annotations

import copy
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import pytest
from localdev.testing import Handler, LambdaContext
from neonkit import Database, Settings, using
from psycopg import conninfo

from tests.kit.support import app
from tests.kit.support.proxy import FaultProxy

IDLE = 0.2  # idle_ping_after for the idle-gap tests, in seconds


def through(proxy: FaultProxy, notes_url: str, settings: Settings) -> Database:
    url = conninfo.make_conninfo(notes_url, host="127.0.0.1", port=str(proxy.port))
    return Database(url, settings=settings)


@pytest.fixture
def wire_db(proxy: FaultProxy, notes_url: str, settings: Settings) -> Iterator[Database]:
    """The handler's database, reached through the counting proxy."""
    database = through(proxy, notes_url, settings)
    with using(database):
        yield database
    database.close()


def flights(proxy: FaultProxy, handler: Handler, data: dict[str, Any], status: int) -> int:
    """Round trips of one request (the proxy has read a request before its answer came)."""
    before = proxy.flights
    response = handler(data, LambdaContext())
    assert response["statusCode"] == status, response.get("body")
    return proxy.flights - before


def new_note(db: Database) -> int:
    return int(db.value("INSERT INTO notes (title) VALUES ('x') RETURNING id"))


REQUESTS: dict[str, tuple[Callable[[Database], dict[str, Any]], int]] = {
    "get": (lambda db: app.event("notes_get_found", note_id=new_note(db)), 200),
    "list": (lambda db: app.event("notes_list"), 200),
    "create": (lambda db: app.event("notes_create_created"), 201),
    "create with an Idempotency-Key": (
        lambda db: app.event("notes_create_idempotent_created", key=uuid.uuid4().hex),
        201,
    ),
    "update": (lambda db: app.event("notes_update_found", note_id=new_note(db)), 200),
    "delete": (lambda db: app.event("notes_delete_found", note_id=new_note(db)), 204),
}


@pytest.mark.parametrize("request_name", list(REQUESTS))
def test_a_warm_request_is_one_round_trip(
    request_name: str,
    notes_api: Handler,
    notes_db: Database,
    wire_db: Database,
    proxy: FaultProxy,
) -> None:
    make, status = REQUESTS[request_name]
    # GIVEN a warm sandbox: its connection is open
    with using(wire_db):
        wire_db.ping()
        # WHEN the request comes, THEN it costs one round trip
        assert flights(proxy, notes_api, make(notes_db), status) == 1
    assert proxy.accepted == 1  # and no new connection


def test_a_replayed_idempotent_create_is_one_round_trip(
    notes_api: Handler, notes_db: Database, wire_db: Database, proxy: FaultProxy
) -> None:
    data = app.event("notes_create_idempotent_created", key=uuid.uuid4().hex)
    with using(wire_db):
        wire_db.ping()
        assert flights(proxy, notes_api, data, 201) == 1
        assert flights(proxy, notes_api, copy.deepcopy(data), 201) == 1  # the replay


def test_the_first_write_after_an_idle_gap_is_two_round_trips_unless_it_may_be_resent(
    notes_api: Handler,
    notes_db: Database,
    proxy: FaultProxy,
    notes_url: str,
    settings: Settings,
) -> None:
    database = through(proxy, notes_url, replace(settings, idle_ping_after=IDLE))
    with using(database):
        database.ping()
        time.sleep(IDLE * 1.5)  # the idle gap itself (the scenario), not a wait for an event
        # a ping first: a write is never sent into a connection that may be dead
        assert flights(proxy, notes_api, app.event("notes_create_created"), 201) == 2
        time.sleep(IDLE * 1.5)
        # a read needs no ping: if the connection is dead, it is retried on a new one
        note_id = new_note(notes_db)
        assert flights(proxy, notes_api, app.event("notes_get_found", note_id=note_id), 200) == 1
        time.sleep(IDLE * 1.5)
        # nor does a write marked idempotent (the keyed create): it may be resent instead
        keyed = app.event("notes_create_idempotent_created", key=uuid.uuid4().hex)
        assert flights(proxy, notes_api, keyed, 201) == 1
    database.close()
