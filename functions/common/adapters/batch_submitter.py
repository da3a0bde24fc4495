"""AWS Batch adapter for the JobSubmitter port: the request travels as ``TRAIN_REQUEST`` in the
container's environment, which the job entrypoint reads back."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from functions.common.errors import StorageError
from functions.common.ls_models import TrainRequest

TRAIN_REQUEST_ENV = "TRAIN_REQUEST"
TRAIN_JOB_NAME_ENV = "TRAIN_JOB_NAME"
_ACTIVE = {"SUBMITTED", "PENDING", "RUNNABLE", "STARTING", "RUNNING"}


class BatchJobSubmitter:
    def __init__(self, client: Any, job_queue: str, job_definition: str) -> None:
        self._batch = client
        self._queue = job_queue
        self._definition = job_definition

    def submit(self, name: str, request: TrainRequest) -> str:
        try:
            resp = self._batch.submit_job(
                jobName=name,
                jobQueue=self._queue,
                jobDefinition=self._definition,
                containerOverrides={
                    "environment": [
                        {"name": TRAIN_REQUEST_ENV, "value": request.model_dump_json()},
                        {"name": TRAIN_JOB_NAME_ENV, "value": name},
                    ]
                },
                tags={"project": request.project, "control": request.control},
                propagateTags=True,
            )
        except ClientError as exc:
            raise StorageError(f"Batch refused job {name}: {exc}") from exc
        return str(resp["jobId"])

    def is_active(self, job_id: str) -> bool:
        try:
            jobs = self._batch.describe_jobs(jobs=[job_id]).get("jobs", [])
        except ClientError as exc:
            raise StorageError(f"cannot describe Batch job {job_id}: {exc}") from exc
        return bool(jobs) and jobs[0].get("status") in _ACTIVE
