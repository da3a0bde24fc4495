"""boto3 clients, built once per process. Endpoints come only from ``AWS_ENDPOINT_URL*`` (botocore
reads them itself), so the same code talks to AWS, moto's server or LocalStack."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(connect_timeout=2, read_timeout=30, retries={"max_attempts": 3, "mode": "standard"})


@dataclass
class Clients:
    """Lazily built clients: /health never pays for one, and each is made at most once."""

    session: Any = field(default_factory=boto3.session.Session)

    @cached_property
    def s3(self) -> Any:
        return self.session.client("s3", config=_CONFIG)

    @cached_property
    def sqs(self) -> Any:
        return self.session.client("sqs", config=_CONFIG)

    @cached_property
    def batch(self) -> Any:
        return self.session.client("batch", config=_CONFIG)

    @cached_property
    def ssm(self) -> Any:
        return self.session.client("ssm", config=_CONFIG)
