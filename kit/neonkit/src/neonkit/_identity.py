"""Who the caller is, for row-level security: `with db.as_user(user_id):` sets it for a block.

Inside the block every statement outside a transaction becomes `set_config(
'neonkit.user_id', ..., true)` and the statement, pipelined and ended by one Sync (one round
trip): PostgreSQL runs what precedes a Sync as one implicit transaction, committed at the Sync
(rolled back if anything failed). `db.transaction()` sets it right after BEGIN.
Transaction-local, it ends with the transaction and cannot leak through a transaction-mode
pooler to the next client of the same server connection. Policies read it with
`current_setting('neonkit.user_id', true)`.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator
from typing import LiteralString

USER_ID_SETTING = "neonkit.user_id"
SET_USER: LiteralString = "SELECT set_config('neonkit.user_id', %s, true)"

_user: contextvars.ContextVar[str | None] = contextvars.ContextVar("neonkit_user", default=None)


@contextlib.contextmanager
def as_user(user_id: str) -> Iterator[None]:
    """Run the block's statements as `user_id` (no I/O: a context variable)."""
    if not isinstance(user_id, str) or not user_id or "\x00" in user_id:
        raise ValueError(f"a user id is a non-empty string without NUL, got {user_id!r}")
    token = _user.set(user_id)
    try:
        yield
    finally:
        _user.reset(token)


def current_user() -> str | None:
    """The identity `as_user()` set for this context, or None."""
    return _user.get()
