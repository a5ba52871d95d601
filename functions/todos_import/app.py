"""Imports todos from the import queue: one JSON todo per message, one INSERT per batch.

A bad message fails alone (batchItemFailures); a redelivered message inserts nothing twice.
How a batch is validated and written lives in the layer's `todos.importer`.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import (
    BatchProcessor,
    EventType,
    process_partial_response,
)
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.typing import LambdaContext
from todos import importer

logger = Logger()
metrics = Metrics()
# Bad messages are reported one by one even when all of a batch is bad; an unreachable
# database raises instead, so the invocation fails and alarms on Errors see it.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)


@logger.inject_lambda_context
@metrics.log_metrics(capture_cold_start_metric=True)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    batch = importer.import_batch(event["Records"])
    logger.info(
        "imported a batch",
        extra={
            "inserted": len(batch.inserted),
            "duplicates": len(batch.duplicates),
            "failed": {message_id: str(error) for message_id, error in batch.failed.items()},
            "statements": batch.statements,
        },
    )
    metrics.add_metric(name="TodosImported", unit=MetricUnit.Count, value=len(batch.inserted))
    metrics.add_metric(name="ImportsRejected", unit=MetricUnit.Count, value=len(batch.failed))
    return process_partial_response(
        event=event, record_handler=batch.record_handler, processor=processor, context=context
    )
