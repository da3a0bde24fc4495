"""The embedded AWS for local runs and tests: moto's server, and the resources the template creates.

``AWS_ENDPOINT_URL`` alone chooses the emulator for S3 and SQS: unset, a moto server starts here;
set (e.g. LocalStack on 127.0.0.1:4566), that one is used and Batch, which LocalStack's free edition
lacks, stays on moto through ``AWS_ENDPOINT_URL_BATCH``.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.request
from dataclasses import dataclass
from typing import Any

import boto3

log = logging.getLogger(__name__)

REGION = "us-east-1"


@dataclass(frozen=True)
class Resources:
    bucket: str
    queue_url: str
    dlq_url: str
    job_queue: str
    job_definition: str

    def env(self) -> dict[str, str]:
        return {
            "BUCKET_NAME": self.bucket,
            "TRAIN_QUEUE_URL": self.queue_url,
            "BATCH_JOB_QUEUE": self.job_queue,
            "BATCH_JOB_DEFINITION": self.job_definition,
        }


class MotoServer:
    """moto in server mode on loopback, on a free port; every service, state in this process."""

    def __init__(self, port: int = 0) -> None:
        from moto.server import ThreadedMotoServer

        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.url = ""

    def start(self) -> MotoServer:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # one line per request otherwise
        self._server.start()
        host, port = self._server.get_host_and_port()
        self.url = f"http://{host}:{port}"
        # Batch jobs are accepted and listed but never run in containers here.
        req = urllib.request.Request(
            f"{self.url}/moto-api/config",
            data=json.dumps({"batch": {"use_docker": False}}).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        urllib.request.urlopen(req, timeout=10).close()
        return self

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{self.url}/moto-api/reset", method="POST"), timeout=10).close()

    def stop(self) -> None:
        self._server.stop()


def use_fake_credentials() -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(name, None)
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    os.environ.setdefault("AWS_DEFAULT_REGION", REGION)


def provision(prefix: str = "vfc-local", *, session: Any = None) -> Resources:
    """Create (idempotently) the bucket, the queue with its DLQ, and a Batch queue + job definition."""
    session = session or boto3.session.Session(region_name=os.environ.get("AWS_DEFAULT_REGION", REGION))
    s3, sqs, batch, iam = (session.client(n) for n in ("s3", "sqs", "batch", "iam"))
    bucket = f"{prefix}-bucket"
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    dlq_url = sqs.create_queue(QueueName=f"{prefix}-train-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    queue_url = sqs.create_queue(
        QueueName=f"{prefix}-train",
        Attributes={
            "VisibilityTimeout": "180",
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"}),
        },
    )["QueueUrl"]
    job_queue, job_definition = _provision_batch(batch, iam, prefix)
    return Resources(bucket, queue_url, dlq_url, job_queue, job_definition)


def _provision_batch(batch: Any, iam: Any, prefix: str) -> tuple[str, str]:
    existing = batch.describe_job_queues(jobQueues=[f"{prefix}-jobs"])["jobQueues"]
    definitions = batch.describe_job_definitions(jobDefinitionName=f"{prefix}-train", status="ACTIVE")
    if existing and definitions["jobDefinitions"]:
        return existing[0]["jobQueueArn"], definitions["jobDefinitions"][0]["jobDefinitionArn"]
    trust = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "batch.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    )
    try:
        role_arn = iam.create_role(RoleName=f"{prefix}-batch", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        role_arn = iam.get_role(RoleName=f"{prefix}-batch")["Role"]["Arn"]
    env_arn = batch.create_compute_environment(
        computeEnvironmentName=f"{prefix}-gpu", type="UNMANAGED", state="ENABLED", serviceRole=role_arn
    )["computeEnvironmentArn"]
    queue_arn = batch.create_job_queue(
        jobQueueName=f"{prefix}-jobs",
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": env_arn}],
    )["jobQueueArn"]
    definition_arn = batch.register_job_definition(
        jobDefinitionName=f"{prefix}-train",
        type="container",
        containerProperties={
            "image": "video-frame-classifier-train:local",
            "command": ["python", "-m", "functions.train.job"],
            "resourceRequirements": [
                {"type": "VCPU", "value": "4"},
                {"type": "MEMORY", "value": "15000"},
                {"type": "GPU", "value": "1"},
            ],
        },
        retryStrategy={"attempts": 2},
    )["jobDefinitionArn"]
    return queue_arn, definition_arn
