"""Purging completed todos: bounded batches, so no run holds a long transaction or many locks.

Each batch is one autocommit DELETE of at most `batch_size` rows, picked with
`FOR UPDATE SKIP LOCKED`: a row another transaction is updating is left for the next run
instead of being waited for, and two runs at once never block each other. The run stops
when a batch comes back short (nothing older is left) or when the Lambda's remaining time
gets low; the next scheduled run goes on from there.

The purge is a system job, not a user: row-level security (migrations/0002) lets a transaction
that sets `todos.purge` see, lock and delete completed todos of every user, and nothing more.
Each batch is BEGIN, that setting, the DELETE and COMMIT, in one flight.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from neonkit import ConfigurationError, db

# Transaction-local: it ends with the batch's transaction (and cannot leak through a pooler).
_AS_PURGE = "SELECT set_config('todos.purge', 'on', true)"
# The partial index todos_completed_at (completed_at) WHERE done finds the rows. The batch is
# a MATERIALIZED CTE, picked once: as a subquery the planner may rescan it for every row of a
# nested loop, and each rescan skips the rows already deleted and locks the next ones, so one
# statement deleted every old row, not `limit` (seen with the row-level security's filter).
_PURGE = """
WITH batch AS MATERIALIZED (
    SELECT id FROM todos
    WHERE done AND completed_at < now() - make_interval(days => %(days)s::int)
    LIMIT %(limit)s
    FOR UPDATE SKIP LOCKED
)
DELETE FROM todos WHERE id IN (SELECT id FROM batch)
"""


@dataclass(frozen=True)
class PurgeSettings:
    """How old a completed todo must be to go, and how much one run may do at a time."""

    after_days: int = 30
    batch_size: int = 1000
    reserve_ms: int = 5000  # time kept back at the end of a run, on top of the slowest batch

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> PurgeSettings:
        """PURGE_AFTER_DAYS, PURGE_BATCH_SIZE and PURGE_RESERVE_MS, each optional."""
        values = os.environ if env is None else env
        return cls(
            after_days=_positive(values, "PURGE_AFTER_DAYS", cls.after_days),
            batch_size=_positive(values, "PURGE_BATCH_SIZE", cls.batch_size),
            reserve_ms=_positive(values, "PURGE_RESERVE_MS", cls.reserve_ms),
        )


@dataclass(frozen=True)
class PurgeResult:
    purged: int  # rows deleted
    batches: int  # DELETE statements sent
    finished: bool  # False: stopped for lack of time, older rows may be left

    def as_dict(self) -> dict[str, object]:
        return {"purged": self.purged, "batches": self.batches, "finished": self.finished}


def purge_completed(settings: PurgeSettings, remaining_ms: Callable[[], int]) -> PurgeResult:
    """Delete completed todos older than `settings.after_days`, batch by batch.

    `remaining_ms` is the Lambda context's `get_remaining_time_in_millis`: a batch starts only
    if the reserve plus twice the slowest batch so far is still left.
    """
    purged = batches = 0
    slowest_ms = 0.0
    params = {"days": settings.after_days, "limit": settings.batch_size}
    while remaining_ms() >= settings.reserve_ms + 2 * slowest_ms:
        started = time.monotonic()
        with db.transaction() as tx:
            tx.defer(_AS_PURGE)
            batch = tx.defer(_PURGE, params)
        deleted = batch.rowcount
        slowest_ms = max(slowest_ms, (time.monotonic() - started) * 1000)
        purged += deleted
        batches += 1
        if deleted < settings.batch_size:
            return PurgeResult(purged, batches, finished=True)
    return PurgeResult(purged, batches, finished=False)


def _positive(values: Mapping[str, str], name: str, default: int) -> int:
    raw = values.get(name)
    if not raw:
        return default
    if not raw.strip().isdigit() or int(raw) < 1:
        raise ConfigurationError(f"{name}={raw!r} must be a positive whole number")
    return int(raw)
