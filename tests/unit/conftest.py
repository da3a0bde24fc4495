"""Unit-test fixtures: no sockets, a backend wired with in-memory fakes, a TestClient on it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pytest_socket import disable_socket, enable_socket

from demo.synthetic import Appearance, VideoSpec, write_video
from functions.common.settings import Settings
from functions.predict.app import create_app
from functions.predict.deps import get_backend
from functions.predict.service import Backend
from tests.conftest import EVENTS
from tests.fakes.memory import BrightnessEmbedder, InMemoryObjectStore, LocalFileMediaSource, RecordingQueue


@pytest.fixture(autouse=True)
def _no_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests build Settings from arguments alone: nothing a local stack, an earlier test module or
    the developer's shell exported leaks in."""
    for name in Settings.model_fields:
        monkeypatch.delenv(name.upper(), raising=False)


@pytest.fixture(autouse=True)
def _no_sockets() -> Iterator[None]:
    """Unit tests open no network socket (pytest-socket). Unix socket pairs stay allowed: the event
    loop behind TestClient wakes itself up through one."""
    disable_socket(allow_unix_socket=True)
    yield
    enable_socket()


@pytest.fixture(scope="session")
def media_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("media")
    write_video(
        root / "b5c6319a-ball1.mp4", VideoSpec(seconds=3, fps=30, appearances=(Appearance(1.0, 1.5, "ball"),), seed=1)
    )
    write_video(
        root / "c7-ball2.mp4", VideoSpec(seconds=2, fps=25, appearances=(Appearance(0.2, 0.6, "ball"),), seed=2)
    )
    return root


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(bucket_name="test-bucket", work_dir=tmp_path / "work", predict_budget_s=80)


@pytest.fixture
def make_backend(media_root: Path) -> Callable[..., Backend]:
    def make(settings: Settings, **kwargs: Any) -> Backend:
        embedder = BrightnessEmbedder()
        return Backend(
            settings=settings,
            objects=kwargs.pop("objects", InMemoryObjectStore()),
            media=LocalFileMediaSource(media_root),
            model_card=lambda: BrightnessEmbedder.card,
            embedder=lambda: embedder,
            queue=kwargs.pop("queue", RecordingQueue()),
            **kwargs,
        )

    return make


@pytest.fixture
def backend(make_backend: Callable[..., Backend], settings: Settings) -> Backend:
    return make_backend(settings)


@pytest.fixture
def client_for() -> Callable[[Backend], TestClient]:
    def make(backend: Backend) -> TestClient:
        app = create_app(backend.settings)
        app.dependency_overrides[get_backend] = lambda: backend
        return TestClient(app)

    return make


@pytest.fixture
def client(client_for: Callable[[Backend], TestClient], backend: Backend) -> TestClient:
    return client_for(backend)


def load_event(name: str) -> dict[str, Any]:
    return json.loads((EVENTS / name).read_text())
