"""Deletes completed todos older than PURGE_AFTER_DAYS, on a schedule, in bounded batches.

How the batches are cut and when a run stops lives in the layer's `todos.purge`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext
from todos import purge

logger = Logger()
metrics = Metrics()


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, object]:
    settings = purge.PurgeSettings.from_env()
    result = purge.purge_completed(settings, context.get_remaining_time_in_millis)
    logger.info(
        f"purged {result.purged} completed todos older than {settings.after_days} days",
        extra=result.as_dict(),
    )
    metrics.add_metric(name="TodosPurged", unit=MetricUnit.Count, value=result.purged)
    return result.as_dict()
