"""Applies migrations/ to the database: on every deploy that changes them, or when invoked by hand.

- Deploy: the template's `Migrations` custom resource invokes this function on Create and on
  every Update (its property is this function's published version, which changes whenever
  the packaged migrations do). A failure answers FAILED with the SQL error, so the deploy
  fails and rolls back; all pending files run in one transaction (`atomic=True`), so the
  database is left as it was. Delete succeeds without touching the database: the data
  outlives the stack.
- By hand: `{}` or `{"action": "migrate"}` applies, `{"action": "status"}` lists each file.

The URL is the functions' own (DATABASE_URL, or the secret DATABASE_SECRET names): for Neon's
pooled `-pooler` host, migrations run over the direct endpoint (`neonkit.migrations`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import custom_resource
from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext
from neonkit import Settings, db
from neonkit.migrations import migrate, status

logger = Logger()
HERE = Path(__file__).resolve().parent
VERSION_PROPERTY = "MigrateFunctionVersion"


@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if custom_resource.is_request(event):
        return custom_resource.answer(event, context, on_change=on_deploy)
    return by_hand(event)


def on_deploy(request: Mapping[str, Any]) -> dict[str, str]:
    """Create or Update: apply what is pending; a rollback's Update changes nothing."""
    if is_rollback(request):
        logger.warning("stack rollback: migrations are never undone; nothing to do")
        return {"Applied": "", "Count": "0"}
    names = apply()
    return {"Applied": ", ".join(names)[:1000], "Count": str(len(names))}


def by_hand(event: Mapping[str, Any]) -> dict[str, Any]:
    action = event.get("action", "migrate")
    if action == "migrate":
        return {"applied": apply()}
    if action == "status":
        directory = migrations_dir()
        return {
            "migrations": [
                {
                    "name": s.name,
                    "state": s.state,
                    "applied_at": s.applied_at and s.applied_at.isoformat(),
                }
                for s in status(db.url.conninfo(), directory)
            ]
        }
    raise ValueError(f"unknown action {action!r}: use migrate or status")


def apply() -> list[str]:
    directory = migrations_dir()
    db.ping()  # wakes a suspended compute, with the kit's retries, before migrate() connects
    names = migrate(db.url.conninfo(), directory, atomic=True)
    logger.info(f"applied {len(names)} migration(s)", extra={"applied": names})
    return names


def migrations_dir() -> Path:
    """NEONKIT_MIGRATIONS_DIR if absolute; else next to this file, where `sam build` copies
    migrations/ (see Makefile), or in the source tree's root for local runs."""
    configured = Path(Settings.from_env().migrations_dir)
    if configured.is_absolute():
        return configured
    candidates = [HERE / configured, HERE.parents[1] / configured]
    return next((path for path in candidates if path.is_dir()), candidates[0])


def is_rollback(request: Mapping[str, Any]) -> bool:
    """An Update back to an older version of this function: CloudFormation is rolling back.

    Versions are numbered upwards, so going back to a lower number is a rollback; running the
    migrations then would retry the very files that failed and leave the stack stuck in
    UPDATE_ROLLBACK_FAILED. A failed run changed nothing (atomic), and a run that succeeded
    is kept: migrations only go forward.
    """
    if request.get("RequestType") != "Update":
        return False
    new = _version_number(request.get("ResourceProperties"))
    old = _version_number(request.get("OldResourceProperties"))
    return new is not None and old is not None and new < old


def _version_number(properties: Any) -> int | None:
    if not isinstance(properties, Mapping):
        return None
    match = re.search(r":(\d+)$", str(properties.get(VERSION_PROPERTY, "")))
    return int(match[1]) if match else None
