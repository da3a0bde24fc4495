"""Local stand-ins for the AWS pieces moto cannot run: Batch containers and the SQS event source.

- :class:`LocalJobRunner` implements the JobSubmitter port by running the real job entrypoint
  (``python -m functions.train.job``) in a subprocess, with the environment the Batch job definition
  gives (``TRAIN_REQUEST``, ``TRAIN_JOB_NAME``, the settings), one job at a time like a one-GPU queue.
- :class:`QueuePoller` long-polls the training queue and hands each batch of messages to the real
  submitter (``functions.train.submit.handle_batch``), deleting only what it did not report failed.
"""

from __future__ import annotations

import logging
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from functions.common.adapters.batch_submitter import TRAIN_JOB_NAME_ENV, TRAIN_REQUEST_ENV
from functions.common.ls_models import TrainRequest

log = logging.getLogger(__name__)


@dataclass
class JobRecord:
    job_id: str
    name: str
    request: TrainRequest
    status: str = "SUBMITTED"  # SUBMITTED -> RUNNING -> SUCCEEDED | FAILED
    exit_code: int | None = None
    seconds: float = 0.0


@dataclass
class LocalJobRunner:
    attempts: int = 2  # as the job definition's RetryStrategy
    jobs: dict[str, JobRecord] = field(default_factory=dict)
    _queue: queue.Queue[JobRecord] = field(default_factory=queue.Queue)
    _worker: threading.Thread | None = None

    def submit(self, name: str, request: TrainRequest) -> str:
        record = JobRecord(job_id=uuid.uuid4().hex, name=name, request=request)
        self.jobs[record.job_id] = record
        self._queue.put(record)
        if self._worker is None:
            self._worker = threading.Thread(target=self._work, name="local-batch", daemon=True)
            self._worker.start()
        log.info("local job %s submitted (%s/%s)", name, request.project, request.control)
        return record.job_id

    def is_active(self, job_id: str) -> bool:
        record = self.jobs.get(job_id)
        return record is not None and record.status in {"SUBMITTED", "RUNNING"}

    def _work(self) -> None:
        while True:
            record = self._queue.get()
            record.status = "RUNNING"
            started = time.perf_counter()
            env = {
                **os.environ,
                TRAIN_REQUEST_ENV: record.request.model_dump_json(),
                TRAIN_JOB_NAME_ENV: record.name,
            }
            for attempt in range(1, self.attempts + 1):
                proc = subprocess.run([sys.executable, "-m", "functions.train.job"], env=env, check=False)
                record.exit_code = proc.returncode
                if proc.returncode in (0, 2):  # 2: a bad request, which no retry fixes
                    break
                log.warning("local job %s attempt %d exited %d", record.name, attempt, proc.returncode)
            record.seconds = time.perf_counter() - started
            record.status = "SUCCEEDED" if record.exit_code == 0 else "FAILED"
            log.info("local job %s %s in %.1fs", record.name, record.status.lower(), record.seconds)


class QueuePoller:
    """The SQS -> Lambda event source mapping, for the local stack."""

    def __init__(self, sqs: Any, queue_url: str, handle: Any, *, batch_size: int = 10) -> None:
        self._sqs, self._url, self._handle, self._batch = sqs, queue_url, handle, batch_size
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqs-poller", daemon=True)
        self.processed = 0

    def start(self) -> QueuePoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=25)

    def poll_once(self, wait_s: int = 1) -> int:
        resp = self._sqs.receive_message(
            QueueUrl=self._url,
            MaxNumberOfMessages=self._batch,
            WaitTimeSeconds=wait_s,
            AttributeNames=["All"],
        )
        messages = resp.get("Messages", [])
        if not messages:
            return 0
        event = {"Records": [_sqs_record(m, self._url) for m in messages]}
        result = self._handle(event)
        failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        done = [m for m in messages if m["MessageId"] not in failed]
        if done:
            self._sqs.delete_message_batch(
                QueueUrl=self._url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done)],
            )
        self.processed += len(messages)
        return len(messages)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.poll_once(wait_s=1)
            except Exception:  # keep polling: a local stack should survive a bad message
                log.exception("training queue poll failed")
                time.sleep(1)


def _sqs_record(message: dict[str, Any], queue_url: str) -> dict[str, Any]:
    """A received message in the shape Lambda's SQS event source delivers."""
    name = queue_url.rstrip("/").rsplit("/", 1)[-1]
    return {
        "messageId": message["MessageId"],
        "receiptHandle": message["ReceiptHandle"],
        "body": message["Body"],
        "attributes": message.get("Attributes", {}),
        "messageAttributes": message.get("MessageAttributes", {}),
        "md5OfBody": message.get("MD5OfBody", ""),
        "eventSource": "aws:sqs",
        "eventSourceARN": f"arn:aws:sqs:us-east-1:123456789012:{name}",
        "awsRegion": "us-east-1",
    }
