"""Lambda SnapStart: no connection inside the snapshot, fresh randomness after a restore.

    from neonkit import snapstart
    snapstart.install()            # in the function's app.py, at module level

With SnapStart (`SnapStart: ApplyOn: PublishedVersions`), Lambda runs a version's init once,
snapshots the sandbox's memory, and starts every new sandbox of that version from the
snapshot. Two things must not be in it:

- a connection: its socket would be restored in many sandboxes at once, long after the
  server or a NAT forgot it, and the first request of each would find out the slow way;
- a random generator's state: every restored sandbox would draw the same numbers (the
  kit's retry jitter comes from the OS for that reason; the `random` module does not).

`install()` registers two runtime hooks with Lambda's `snapshot_restore_py` module (part of
the managed Python runtimes that support SnapStart):

- before the snapshot: warm what needs no I/O (the SQL of the builder queries given to
  `install()`, and any callables given), then close the connection if init opened one
  (waiting for a `db.preconnect()` still under way);
- after a restore: close any connection (none should be there), and re-seed the `random`
  module from the operating system.

Outside Lambda, or on a runtime without `snapshot_restore_py`, `install()` does nothing and
returns False. It never connects: importing a handler stays free of I/O.
"""

from __future__ import annotations

import importlib
import logging
import random
from collections.abc import Callable
from types import ModuleType
from typing import Protocol

from ._current import db
from ._settings import in_lambda

__all__ = ["after_restore", "before_snapshot", "install"]

logger = logging.getLogger("neonkit")

RUNTIME_MODULE = "snapshot_restore_py"


class _Compilable(Protocol):
    def compile(self) -> object: ...


Warm = _Compilable | Callable[[], object]

_installed_on: ModuleType | None = None  # the runtime module the hooks are registered with
_warm: list[Warm] = []


def install(*warm: Warm) -> bool:
    """Register the SnapStart hooks (once); True if registered, False outside SnapStart's
    runtime. `warm`: builder queries whose SQL to compile, or callables to run, before the
    snapshot; neither may do I/O."""
    global _installed_on
    for item in warm:
        if not callable(item) and not callable(getattr(item, "compile", None)):
            raise TypeError(
                f"snapstart.install() takes builder queries or callables to warm, got {item!r}"
            )
    _warm.extend(warm)
    if not in_lambda():
        return False
    try:
        runtime = importlib.import_module(RUNTIME_MODULE)
    except ImportError:
        return False
    if runtime is not _installed_on:
        runtime.register_before_snapshot(before_snapshot)
        runtime.register_after_restore(after_restore)
        _installed_on = runtime
    return True


def before_snapshot() -> None:
    """Warm without I/O; leave no connection in the snapshot."""
    for item in _warm:
        compile_ = getattr(item, "compile", None)
        if callable(compile_):
            compile_()
        elif callable(item):
            item()
    if db.connected:
        logger.info("closing the connection opened during init, before the snapshot")
    db.close()


def after_restore() -> None:
    """Start clean in a restored sandbox: no inherited socket, no inherited random state."""
    db.close()
    random.seed()  # from os.urandom: differs in every restored sandbox
