"""`raw()`: the only way to put SQL text into a query.

    table("todos").where(f"title = '{title}'")             # refused: not a column name
    table("todos").where(raw("lower(title) = %s", [title]))  # the value is bound

`text` is typed `LiteralString`, so a type checker rejects text built at run time; at run time
the number of `%s` must match the parameters (`%%` is a literal percent).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, LiteralString

from ..errors import QueryBuildError
from ._names import show
from ._statements import Raw
from ._values import frozen

_PERCENT = re.compile(r"%(.|$)", re.DOTALL)


def raw(text: LiteralString, params: Sequence[Any] = ()) -> Raw:
    """SQL text for where the builder has no method; values go in `params`, never in `text`."""
    if not isinstance(text, str):
        raise QueryBuildError(f"raw() takes SQL text (a literal str), got {show(text)}")
    if "\x00" in text:
        raise QueryBuildError(f"raw() text cannot contain a NUL character, got {show(text)}")
    if isinstance(params, str | bytes | Mapping) or not isinstance(params, Sequence):
        raise QueryBuildError(
            f"raw() parameters must be a list or tuple (for %s placeholders), got {show(params)}"
        )
    wanted = placeholders(text)
    if wanted != len(params):
        raise QueryBuildError(
            f"raw() text has {wanted} %s placeholder(s) but {len(params)} parameter(s) were "
            f"given (write %% for a literal percent), got {show(text)}"
        )
    return Raw(text, tuple(frozen(p, i, "raw() parameter") for i, p in enumerate(params)))


def placeholders(text: str) -> int:
    """The number of positional placeholders (%s, %b, %t); any other use of % is refused."""
    count = 0
    for match in _PERCENT.finditer(text):
        code = match.group(1)
        if code in ("s", "b", "t"):
            count += 1
        elif code != "%":
            raise QueryBuildError(
                f"raw() text may use %s placeholders and %% for a literal percent only "
                f"(no named placeholders), got {show(text)}"
            )
    return count
