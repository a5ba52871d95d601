"""psycopg errors translated in one place."""

from __future__ import annotations

import psycopg
import pytest
from neonkit import errors
from psycopg import errors as pg


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (pg.UniqueViolation, errors.ConflictError),
        (pg.ExclusionViolation, errors.ConflictError),
        (pg.ForeignKeyViolation, errors.ForeignKeyError),
        (pg.NotNullViolation, errors.InvalidDataError),
        (pg.CheckViolation, errors.InvalidDataError),
        (pg.InvalidTextRepresentation, errors.InvalidDataError),
        (pg.NumericValueOutOfRange, errors.InvalidDataError),
        (pg.QueryCanceled, errors.QueryTimeoutError),
        (pg.LockNotAvailable, errors.QueryTimeoutError),
        (pg.AdminShutdown, errors.ConnectionLostError),
        (pg.UndefinedTable, errors.DatabaseError),
    ],
)
def test_translation(raised: type[psycopg.Error], expected: type[errors.NeonKitError]) -> None:
    result = errors.translate(raised("boom\nDETAIL: more"))
    assert type(result) is expected
    assert str(result) == "boom"


def test_sqlstate_is_kept() -> None:
    result = errors.translate(pg.UniqueViolation("dup"))
    assert isinstance(result, errors.DatabaseError)
    assert result.sqlstate == "23505"


def test_secret_is_redacted_plain_and_url_encoded() -> None:
    result = errors.translate(pg.UndefinedTable("p@ss w0rd and p%40ss%20w0rd"), secret="p@ss w0rd")
    assert "w0rd" not in str(result)
