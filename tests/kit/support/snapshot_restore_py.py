"""A stand-in for Lambda's `snapshot_restore_py` (SnapStart's runtime hooks), like the context
stub: it records the hooks a function registers, and runs them when a test says so, in
Lambda's order (before the snapshot: reverse order of registration; after a restore: in
order of registration).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Hook = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]

before_snapshot: list[Hook] = []
after_restore: list[Hook] = []


def register_before_snapshot(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    before_snapshot.append((func, args, kwargs))
    return func


def register_after_restore(func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    after_restore.append((func, args, kwargs))
    return func


def take_snapshot() -> None:
    """What Lambda does when it publishes a version: the before-snapshot hooks."""
    for func, args, kwargs in reversed(before_snapshot):
        func(*args, **kwargs)


def restore() -> None:
    """What Lambda does when it starts a sandbox from the snapshot: the after-restore hooks."""
    for func, args, kwargs in after_restore:
        func(*args, **kwargs)


def reset() -> None:
    before_snapshot.clear()
    after_restore.clear()
