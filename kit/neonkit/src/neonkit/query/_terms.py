"""Select lists and RETURNING: column names, '*', 'table.*', raw(...), and aliases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Self

from ..errors import QueryBuildError
from ._builder import Recorder
from ._names import column, identifier, show
from ._raw import Raw
from ._statements import Alias, Term


def terms(columns: tuple[Any, ...], aliases: Mapping[str, Any], method: str) -> tuple[Term, ...]:
    """select("id", "todos.*", raw("now()"), n=raw("count(*)"), title_alias="title")."""
    what = _WHAT.get(method) or f"{method}() column"
    recorded: list[Term] = [
        c if type(c) is Raw else column(c, star=True, what=what) for c in columns
    ]
    if aliases:
        for name, term in aliases.items():
            identifier(name, f"{method}() alias")
            if type(term) is not Raw:
                if isinstance(term, str) and term.rsplit(".", 1)[-1] == "*":
                    raise QueryBuildError(
                        f"{method}() cannot alias '*' (as {name!r}), got {term!r}"
                    )
                term = column(term, what=what)
            recorded.append(Alias(term, name))
    return tuple(recorded)


_WHAT = {"select": "select() column", "returning": "returning() column"}


class Returning(Recorder):
    """returning(...), for a builder whose statement keeps its RETURNING terms at `_RETURNING`."""

    __slots__ = ()
    _RETURNING: ClassVar[int]

    def returning(self, *columns: str | Raw, **aliases: str | Raw) -> Self:
        """RETURNING these columns ("*" for all); `db.all` / `db.one` then give the rows."""
        if not columns and not aliases:
            raise QueryBuildError(f"returning() needs at least one column, got {show(columns)}")
        index = self._RETURNING
        return self._derive(index, self._statement[index] + terms(columns, aliases, "returning"))
