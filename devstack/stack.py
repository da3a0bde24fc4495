"""The whole backend on one machine: embedded AWS, the predict app under uvicorn, the training queue
poller and a local job runner. Used by ``make serve``, ``make demo`` and the integration tests.

Everything is configured through the same environment variables as in AWS (``functions.common.settings``),
and the job subprocess inherits them, as a Batch container gets them from its job definition.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from pathlib import Path
from typing import Any

import boto3
import uvicorn

from devstack.aws import MotoServer, Resources, provision, use_fake_credentials
from devstack.jobs import LocalJobRunner, QueuePoller
from functions.common.adapters.s3_store import S3ObjectStore
from functions.common.settings import Settings, get_settings
from functions.predict.app import create_app
from functions.predict.deps import get_backend
from functions.train.coalescer import TrainStateStore
from functions.train.submit import handle_batch

log = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_WEIGHTS = ROOT / ".cache" / "weights" / "ball-cls.pt"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DevStack:
    """Start with :meth:`start`, stop with :meth:`stop` (or use it as a context manager)."""

    def __init__(self, port: int = 0, env: dict[str, str] | None = None, host: str = "127.0.0.1") -> None:
        self.host, self.port = host, port or free_port()
        self.url = f"http://{host}:{self.port}"
        self._env = env or {}
        self.moto: MotoServer | None = None
        self.resources: Resources | None = None
        self.runner: LocalJobRunner | None = None
        self.poller: QueuePoller | None = None
        self.settings: Settings | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def _aws(self) -> None:
        use_fake_credentials()
        if not os.environ.get("AWS_ENDPOINT_URL"):
            self.moto = MotoServer().start()
            os.environ["AWS_ENDPOINT_URL"] = self.moto.url
        elif not os.environ.get("AWS_ENDPOINT_URL_BATCH"):
            # LocalStack (or another emulator) for S3/SQS; Batch and IAM stay on moto.
            self.moto = MotoServer().start()
            os.environ["AWS_ENDPOINT_URL_BATCH"] = self.moto.url
            os.environ["AWS_ENDPOINT_URL_IAM"] = self.moto.url

    def start(self) -> DevStack:
        for key, value in self._env.items():
            os.environ[key] = value
        os.environ.setdefault("YOLO_MODEL", str(DEFAULT_WEIGHTS))
        os.environ.setdefault("WORK_DIR", str(ROOT / ".cache" / "work"))
        os.environ.setdefault("YOLO_CONFIG_DIR", str(ROOT / ".cache" / "ultralytics"))
        os.environ.setdefault("YOLO_OFFLINE", "1")
        # Label Studio waits 100 s for /predict; no API Gateway sits in front of the local stack.
        os.environ.setdefault("PREDICT_BUDGET_S", "80")
        self._aws()
        self.resources = provision()
        for key, value in self.resources.env().items():
            os.environ[key] = value
        get_settings.cache_clear()
        get_backend.cache_clear()
        self.settings = get_settings()
        s3 = boto3.client("s3")
        self.runner = LocalJobRunner()
        states = TrainStateStore(S3ObjectStore(s3, self.settings.bucket_name))
        self.poller = QueuePoller(
            boto3.client("sqs"),
            self.resources.queue_url,
            lambda event: handle_batch(event, None, states=states, submitter=self.runner),  # type: ignore[arg-type]
        ).start()
        config = uvicorn.Config(
            create_app(self.settings), host=self.host, port=self.port, log_level="warning", access_log=False
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="uvicorn", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the API did not start on {self.url}")
            time.sleep(0.05)
        log.info("ML backend listening on %s (S3/SQS at %s)", self.url, os.environ["AWS_ENDPOINT_URL"])
        return self

    def wait_for_training(self, timeout: float = 600) -> bool:
        """Until the queue is drained and every local job has ended."""
        assert self.poller is not None and self.runner is not None and self.resources is not None
        sqs = boto3.client("sqs")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            attrs = sqs.get_queue_attributes(
                QueueUrl=self.resources.queue_url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            pending = int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])
            busy = any(self.runner.is_active(j) for j in list(self.runner.jobs))
            if pending == 0 and not busy:
                return True
            time.sleep(0.2)
        return False

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)
        if self.poller is not None:
            self.poller.stop()
        if self.moto is not None:
            self.moto.stop()

    def __enter__(self) -> DevStack:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
