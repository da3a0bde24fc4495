"""SQS-triggered Lambda: training requests -> coalesced AWS Batch jobs, with partial batch failures.

A record whose body is not a TrainRequest, or whose submission fails, is reported in
``batchItemFailures`` so SQS redelivers only that one (and, after the queue's maxReceiveCount,
moves it to the DLQ).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.parser.models import SqsRecordModel
from pydantic import Json

from functions.common.adapters.batch_submitter import BatchJobSubmitter
from functions.common.adapters.s3_store import S3ObjectStore
from functions.common.aws import Clients
from functions.common.logs import configure_logging
from functions.common.ls_models import TrainRequest
from functions.common.ports import JobSubmitter
from functions.common.settings import get_settings
from functions.train.coalescer import TrainStateStore, prefetch_job_name, request_training


class TrainRequestRecord(SqsRecordModel):
    body: Json[TrainRequest]


def handle_batch(event: dict[str, Any], context: Any, *, states: TrainStateStore, submitter: JobSubmitter) -> Any:
    def record_handler(record: TrainRequestRecord) -> None:
        request = record.body
        if request.embed:
            # Embedding jobs only fill the cache (idempotent): no coalescing state needed.
            submitter.submit(prefetch_job_name(request), request)
        else:
            request_training(states, submitter, request)

    processor = BatchProcessor(event_type=EventType.SQS, model=TrainRequestRecord)
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)


@lru_cache(maxsize=1)
def _wired() -> dict[str, Any]:
    """Built at the first invocation of a cold container; a missing setting fails it loudly."""
    settings = get_settings()
    configure_logging(settings.log_level)
    if not (settings.batch_job_queue and settings.batch_job_definition):
        raise RuntimeError("the submitter needs BATCH_JOB_QUEUE and BATCH_JOB_DEFINITION")
    clients = Clients()
    return {
        "states": TrainStateStore(S3ObjectStore(clients.s3, settings.bucket_name)),
        "submitter": BatchJobSubmitter(clients.batch, settings.batch_job_queue, settings.batch_job_definition),
    }


def lambda_handler(event: dict[str, Any], context: Any) -> Any:
    return handle_batch(event, context, **_wired())
