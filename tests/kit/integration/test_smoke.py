from neonkit import Database


def test_first_query_connects_lazily(db: Database) -> None:
    assert not db.connected
    assert db.value("SELECT 1 AS one") == 1
    assert db.connected
