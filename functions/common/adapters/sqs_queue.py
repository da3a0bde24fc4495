"""SQS adapter for the TrainQueue port."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from functions.common.errors import StorageError
from functions.common.ls_models import TrainRequest


class SqsTrainQueue:
    def __init__(self, client: Any, queue_url: str) -> None:
        self._sqs = client
        self._url = queue_url

    def send(self, request: TrainRequest) -> None:
        try:
            self._sqs.send_message(QueueUrl=self._url, MessageBody=request.model_dump_json())
        except ClientError as exc:
            raise StorageError(f"cannot queue training for project {request.project}: {exc}") from exc
