"""Integration fixtures: a moto server (or LocalStack, when AWS_ENDPOINT_URL is set), real adapters
and the real entry points. Each test gets its own bucket and queues, so no reset is needed and the
same tests run against either emulator."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from demo.synthetic import Appearance, VideoSpec, write_video
from demo.weights import DEFAULT_OUT, build_weights
from devstack.aws import MotoServer, Resources, provision, use_fake_credentials
from functions.common.settings import get_settings
from functions.predict.deps import get_backend

pytestmark = pytest.mark.integration

_counter = itertools.count()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[str]:
    """moto for everything, or an external emulator for S3/SQS with moto for Batch and IAM."""
    use_fake_credentials()
    external = os.environ.get("AWS_ENDPOINT_URL", "")
    server = MotoServer().start()
    if external:
        os.environ["AWS_ENDPOINT_URL_BATCH"] = server.url
        os.environ["AWS_ENDPOINT_URL_IAM"] = server.url
    else:
        os.environ["AWS_ENDPOINT_URL"] = server.url
    yield os.environ["AWS_ENDPOINT_URL"]
    server.stop()


@pytest.fixture(scope="session")
def weights() -> Path:
    """The small ball/background classifier (`make weights`); built here if missing (~1 min)."""
    if not DEFAULT_OUT.is_file():
        build_weights(DEFAULT_OUT)
    return DEFAULT_OUT


@pytest.fixture
def resources(aws_endpoint: str, weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Resources]:
    res = provision(prefix=f"it{os.getpid()}-{next(_counter)}")
    env = {
        **res.env(),
        "YOLO_MODEL": str(weights),
        "WORK_DIR": str(tmp_path / "work"),
        "PREDICT_BUDGET_S": "80",
        "TRAIN_MIN_TASKS": "3",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    get_backend.cache_clear()
    yield res
    get_settings.cache_clear()
    get_backend.cache_clear()


@pytest.fixture(scope="session")
def videos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, VideoSpec]]:
    root = tmp_path_factory.mktemp("it-videos")
    specs = {
        "ball1.mp4": VideoSpec(seconds=4, fps=30, appearances=(Appearance(1.0, 2.0, "ball"),), seed=11),
        "ball2.mp4": VideoSpec(seconds=3, fps=25, appearances=(Appearance(0.4, 1.2, "ball"),), seed=12),
    }
    return {name: (write_video(root / name, spec), spec) for name, spec in specs.items()}


def upload(resources: Resources, path: Path, key: str) -> str:
    boto3.client("s3").upload_file(str(path), resources.bucket, key)
    return f"s3://{resources.bucket}/{key}"
