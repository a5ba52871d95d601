"""What a todo looks like on the wire: validation of requests, and rows turned into JSON.

Every problem is collected and reported at once, each naming its field, as a 422.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from neonkit import BadRequestError, ValidationError

MAX_TITLE = 500
MAX_TAGS = 20
MAX_TAG = 50
MAX_BATCH = 100
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_ID = 2**63 - 1
SORTS = {"id": "id", "-id": "id", "created_at": "created_at", "-created_at": "created_at"}
_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")  # printable ASCII, no spaces

Problem = dict[str, str]


@dataclass(frozen=True)
class NewTodo:
    title: str
    due: date | None
    tags: tuple[str, ...]

    def row(self) -> dict[str, Any]:
        return {"title": self.title, "due": self.due, "tags": list(self.tags)}

    def fingerprint(self) -> str:
        """What an idempotency key is bound to: the same key with another body is refused."""
        canonical = json.dumps(
            [self.title, self.due.isoformat() if self.due else None, list(self.tags)]
        )
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class ListQuery:
    done: bool | None
    tag: str | None
    limit: int
    sort: str
    after: tuple[Any, int] | None  # (sort value, id) of the last row seen

    @property
    def column(self) -> str:
        return SORTS[self.sort]

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")


def parse_new(body: Any, path: str = "") -> NewTodo:
    problems: list[Problem] = []
    todo = _new_todo(body, path, problems)
    _raise_if(problems)
    assert todo is not None
    return todo


def parse_batch(body: Any) -> list[NewTodo]:
    if not isinstance(body, list):
        raise ValidationError(
            "expected a JSON array of todos",
            details=[{"field": "", "problem": f"must be an array, got {_kind(body)}"}],
        )
    if not 1 <= len(body) <= MAX_BATCH:
        raise ValidationError(
            f"a batch holds 1 to {MAX_BATCH} todos",
            details=[{"field": "", "problem": f"has {len(body)} items"}],
        )
    problems: list[Problem] = []
    todos = [_new_todo(item, f"[{i}].", problems) for i, item in enumerate(body)]
    _raise_if(problems)
    return [t for t in todos if t is not None]


def parse_changes(body: Any) -> dict[str, Any]:
    """A PATCH body: any of title, done, due, tags; at least one."""
    problems: list[Problem] = []
    if not isinstance(body, dict):
        _raise_if([{"field": "", "problem": f"must be an object, got {_kind(body)}"}])
    _unknown(body, {"title", "done", "due", "tags"}, "", problems)
    changes: dict[str, Any] = {}
    if "title" in body:
        changes["title"] = _title(body["title"], "title", problems)
    if "done" in body:
        if isinstance(body["done"], bool):
            changes["done"] = body["done"]
        else:
            problems.append(
                {"field": "done", "problem": f"must be true or false, got {_kind(body['done'])}"}
            )
    if "due" in body:
        changes["due"] = _due(body["due"], "due", problems)
    if "tags" in body:
        changes["tags"] = list(_tags(body["tags"], "tags", problems))
    if not body:
        problems.append({"field": "", "problem": "give at least one of title, done, due, tags"})
    _raise_if(problems)
    return changes


def parse_id(raw: str) -> int:
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or not 1 <= int(raw) <= MAX_ID:
        raise ValidationError(
            "the id must be a positive integer",
            details=[{"field": "id", "problem": f"got {raw[:40]!r}"}],
        )
    return int(raw)


def parse_list_query(params: Mapping[str, str] | None) -> ListQuery:
    params = params or {}
    problems: list[Problem] = []
    _unknown(params, {"done", "tag", "limit", "after", "sort"}, "", problems, noun="parameter")
    done = None
    if "done" in params:
        if params["done"] in ("true", "false"):
            done = params["done"] == "true"
        else:
            problems.append({"field": "done", "problem": "must be true or false"})
    tag = params.get("tag")
    if tag is not None:
        tag = _text(tag, "tag", MAX_TAG, problems)
    limit = DEFAULT_LIMIT
    if "limit" in params:
        raw = params["limit"]
        if raw.isascii() and raw.isdigit() and len(raw) <= 9 and int(raw) >= 1:
            limit = min(int(raw), MAX_LIMIT)  # capped, not refused
        else:
            problems.append(
                {"field": "limit", "problem": f"must be a positive integer, got {raw[:40]!r}"}
            )
    sort = params.get("sort", "id")
    if sort not in SORTS:
        problems.append({"field": "sort", "problem": f"must be one of {', '.join(SORTS)}"})
        sort = "id"
    after = None
    if "after" in params:
        after = decode_cursor(params["after"], sort, problems)
    _raise_if(problems)
    return ListQuery(done, tag, limit, sort, after)


def encode_cursor(row: Mapping[str, Any], sort: str) -> str:
    value = row[SORTS[sort]]
    payload = [sort, value.isoformat() if isinstance(value, datetime) else value, row["id"]]
    return base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")


def decode_cursor(raw: str, sort: str, problems: list[Problem]) -> tuple[Any, int] | None:
    try:
        padded = raw + "=" * (-len(raw) % 4)
        cursor_sort, value, last_id = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if cursor_sort != sort or not isinstance(last_id, int) or isinstance(last_id, bool):
            raise ValueError
        if SORTS[sort] == "created_at":
            value = datetime.fromisoformat(value)
        elif not isinstance(value, int) or isinstance(value, bool):
            raise ValueError
        return value, last_id
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError, KeyError):
        problems.append({"field": "after", "problem": "is not a cursor from this list's `next`"})
        return None


def idempotency_key(headers: Mapping[str, str]) -> str | None:
    key = headers.get("idempotency-key")
    if key is None:
        return None
    if not _KEY.match(key):
        raise BadRequestError(
            "the Idempotency-Key header must be 1-200 printable ASCII characters without spaces"
        )
    return key


def to_json(row: Mapping[str, Any]) -> dict[str, Any]:
    """A row as the API shows it."""
    return {
        "id": row["id"],
        "title": row["title"],
        "done": row["done"],
        "due": row["due"].isoformat() if row["due"] else None,
        "tags": list(row["tags"]),
        "created_at": _iso(row["created_at"]),
        "updated_at": _iso(row["updated_at"]),
        "completed_at": _iso(row["completed_at"]),
    }


def _new_todo(body: Any, path: str, problems: list[Problem]) -> NewTodo | None:
    if not isinstance(body, dict):
        problems.append(
            {"field": path.rstrip("."), "problem": f"must be an object, got {_kind(body)}"}
        )
        return None
    before = len(problems)
    _unknown(body, {"title", "due", "tags"}, path, problems)
    if "title" not in body:
        problems.append({"field": f"{path}title", "problem": "is required"})
        title = ""
    else:
        title = _title(body["title"], f"{path}title", problems)
    due = _due(body.get("due"), f"{path}due", problems)
    tags = _tags(body.get("tags", []), f"{path}tags", problems)
    return None if len(problems) > before else NewTodo(title, due, tags)


def _title(value: Any, field: str, problems: list[Problem]) -> str:
    text = _text(value, field, MAX_TITLE, problems)
    if text is not None and not text.strip():
        problems.append({"field": field, "problem": "must not be blank"})
    return text or ""


def _text(value: Any, field: str, limit: int, problems: list[Problem]) -> str | None:
    if not isinstance(value, str):
        problems.append({"field": field, "problem": f"must be a string, got {_kind(value)}"})
        return None
    if not 1 <= len(value) <= limit:
        problems.append(
            {"field": field, "problem": f"must be 1 to {limit} characters, got {len(value)}"}
        )
        return None
    if "\x00" in value:
        problems.append({"field": field, "problem": "must not contain NUL characters"})
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        problems.append({"field": field, "problem": "must be valid Unicode (no lone surrogates)"})
        return None
    return value


def _due(value: Any, field: str, problems: list[Problem]) -> date | None:
    if value is None:
        return None
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    problems.append({"field": field, "problem": "must be a date like 2026-12-31, or null"})
    return None


def _tags(value: Any, field: str, problems: list[Problem]) -> tuple[str, ...]:
    if not isinstance(value, list):
        problems.append(
            {"field": field, "problem": f"must be an array of strings, got {_kind(value)}"}
        )
        return ()
    if len(value) > MAX_TAGS:
        problems.append(
            {"field": field, "problem": f"must hold at most {MAX_TAGS} tags, got {len(value)}"}
        )
        return ()
    tags = [_text(tag, f"{field}[{i}]", MAX_TAG, problems) for i, tag in enumerate(value)]
    return tuple(dict.fromkeys(t for t in tags if t is not None))  # unique, in order


def _unknown(
    body: Mapping[str, Any],
    known: set[str],
    path: str,
    problems: list[Problem],
    noun: str = "field",
) -> None:
    for name in body:
        if name not in known:
            shown = name[:40] if isinstance(name, str) else repr(name)
            problems.append({"field": f"{path}{shown}", "problem": f"unknown {noun}"})


def _raise_if(problems: list[Problem]) -> None:
    if problems:
        raise ValidationError("the request has invalid fields", details=problems)


def _kind(value: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
        type(None): "null",
    }.get(type(value), "a value")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None
