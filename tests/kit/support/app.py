"""The kit's fixture app (tests/kit/app): where it is, and its events with the changes a test
needs. The kit's tests use it instead of the sample app, so that removing the sample breaks
nothing of the kit."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from localdev.testing import load_event

APP = Path(__file__).resolve().parents[1] / "app"
TEMPLATE = APP / "template.yaml"
EVENTS = APP / "events"
MIGRATIONS = APP / "migrations"
FUNCTION = "NotesApiFunction"

Event = dict[str, Any]


def event(
    name: str, *, note_id: int | None = None, body: Any = None, key: str | None = None
) -> Event:
    """An event file of the fixture app, with another id, body or Idempotency-Key."""
    data = copy.deepcopy(load_event(name, events=EVENTS))
    if note_id is not None:
        path = data["rawPath"].rsplit("/", 1)[0] + f"/{note_id}"
        data["rawPath"] = data["requestContext"]["http"]["path"] = path
        data["pathParameters"] = {"id": str(note_id)}
    if body is not None:
        data["body"] = json.dumps(body)
        data["headers"]["content-length"] = str(len(data["body"].encode()))
    if key is not None:
        data["headers"]["idempotency-key"] = key
    return data


def http_events() -> list[str]:
    """The names of every event file of the fixture app."""
    return sorted(path.stem for path in EVENTS.glob("*.json"))
