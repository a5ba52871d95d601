"""`db.as_user()`: the caller's identity for row-level security, transaction-local, still one
round trip per statement (counted on the wire by a FaultProxy), on both paths."""

from __future__ import annotations

import pytest
from neonkit import USER_ID_SETTING, Database, InvalidDataError

from tests.kit.support.proxy import FaultProxy

WHO = f"SELECT current_setting('{USER_ID_SETTING}', true) AS who"


def flights(proxy: FaultProxy, since: int) -> int:
    return proxy.flights - since


def test_each_statement_runs_as_the_user_in_one_round_trip(
    wire_db: Database, proxy: FaultProxy, notes_db: Database
) -> None:
    with wire_db.as_user("alice"):
        before = proxy.flights
        assert wire_db.value(WHO) == "alice"  # a read
        assert flights(proxy, before) == 1
        before = proxy.flights
        row = wire_db.one(
            "INSERT INTO notes (title) VALUES (current_setting('neonkit.user_id', true))"
            " RETURNING title"
        )
        assert row == {"title": "alice"}  # a write, committed
        assert flights(proxy, before) == 1
    assert notes_db.value("SELECT count(*) FROM notes WHERE title = 'alice'") == 1


def test_after_the_block_there_is_no_identity(wire_db: Database) -> None:
    with wire_db.as_user("alice"):
        assert wire_db.value(WHO) == "alice"
    assert wire_db.value(WHO) in (None, "")  # '' once the server has seen the setting


def test_blocks_nest_and_restore(wire_db: Database) -> None:
    with wire_db.as_user("alice"):
        with wire_db.as_user("bob"):
            assert wire_db.value(WHO) == "bob"
        assert wire_db.value(WHO) == "alice"


def test_a_transaction_sets_it_right_after_begin(wire_db: Database, proxy: FaultProxy) -> None:
    with wire_db.as_user("carol"):
        before = proxy.flights
        with wire_db.transaction(statement_timeout_ms=1500) as tx:
            deferred = tx.defer(WHO)
            timeout = tx.defer("SHOW statement_timeout")
        assert flights(proxy, before) == 1  # BEGIN, the identity, both statements, COMMIT
    assert deferred.one() == {"who": "carol"}
    assert timeout.one() == {"statement_timeout": "1500ms"}


def test_a_failing_statement_leaves_nothing_open(wire_db: Database) -> None:
    with wire_db.as_user("dave"), pytest.raises(InvalidDataError):
        wire_db.value("SELECT 1 / 0")
    assert not wire_db.ensure_idle()  # nothing was left to roll back
    assert wire_db.value(WHO) in (None, "")


@pytest.mark.parametrize("bad", ["", "a\x00b", 7])
def test_a_user_id_is_non_empty_text(bad: object, wire_db: Database) -> None:
    with pytest.raises(ValueError, match="user id"), wire_db.as_user(bad):  # type: ignore[arg-type]
        pass
