"""In-memory fakes of the ports, behaving like S3/SQS/Batch where the core relies on it."""

from __future__ import annotations

import hashlib
import shutil
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from functions.common.errors import ConflictError, MediaError
from functions.common.features import Embeddings
from functions.common.ls_models import TrainRequest
from functions.common.model_card import ModelCard
from functions.common.ports import StoredObject
from functions.common.video import iter_frames


class InMemoryObjectStore:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}
        self.gets: list[str] = []
        self._lock = threading.Lock()

    def _etag(self, body: bytes) -> str:
        return f'"{hashlib.md5(body).hexdigest()}"'

    def get(self, key: str) -> StoredObject | None:
        self.gets.append(key)
        body = self.objects.get(key)
        return None if body is None else StoredObject(body=body, etag=self._etag(body))

    def put(self, key: str, body: bytes, *, if_match: str | None = None, if_none_match: bool = False) -> str:
        with self._lock:
            current = self.objects.get(key)
            if if_none_match and current is not None:
                raise ConflictError(key)
            if if_match is not None and (current is None or self._etag(current) != if_match):
                raise ConflictError(key)
            self.objects[key] = body
        return self._etag(body)

    def delete(self, key: str) -> None:
        self.objects.pop(key, None)

    def list_keys(self, prefix: str) -> list[str]:
        return sorted(k for k in list(self.objects) if k.startswith(prefix))

    def exists(self, key: str) -> bool:
        return key in self.objects


@dataclass
class RecordingQueue:
    sent: list[TrainRequest] = field(default_factory=list)

    def send(self, request: TrainRequest) -> None:
        self.sent.append(request)


@dataclass
class RecordingSubmitter:
    submitted: list[tuple[str, TrainRequest]] = field(default_factory=list)
    active: set[str] = field(default_factory=set)

    def submit(self, name: str, request: TrainRequest) -> str:
        self.submitted.append((name, request))
        job_id = f"job-{len(self.submitted)}"
        self.active.add(job_id)
        return job_id

    def is_active(self, job_id: str) -> bool:
        return job_id in self.active


@dataclass
class LocalFileMediaSource:
    """Media URLs name files in ``root`` (``/data/upload/1/x.mp4`` -> ``root/x.mp4``)."""

    root: Path
    fetched: list[str] = field(default_factory=list)

    def fetch(self, url: str, dest: Path, *, hostname: str = "", access_token: str = "") -> Path:
        src = self.root / Path(url).name
        if not src.is_file():
            raise MediaError(f"downloading {url} failed: HTTP 404")
        self.fetched.append(url)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, dest)
        return dest


class BrightnessEmbedder:
    """A torch-free embedder: per-frame colour statistics as features; class "ball" probability is
    the share of strongly saturated pixels. Good enough to exercise every path around the model."""

    class_names = ["background", "ball"]
    card = ModelCard(weights=Path("brightness.pt"), sha256="0" * 64, imgsz=32, class_names=("background", "ball"))
    embedder_id = card.embedder_id

    def __init__(self) -> None:
        self.videos: list[Path] = []

    def embed_video(self, path: Path, frame_rate: float) -> Embeddings:
        self.videos.append(path)
        feats, probs = [], []
        for frame in iter_frames(path, frame_rate):
            f = frame.astype(np.float32) / 255.0
            sat = f.max(axis=2) - f.min(axis=2)
            share = float((sat > 0.5).mean())
            feats.append(np.concatenate([f.mean(axis=(0, 1)), f.std(axis=(0, 1)), [share, sat.mean()]]))
            p_ball = min(1.0, share * 20)
            probs.append([1 - p_ball, p_ball])
        return Embeddings(
            features=np.asarray(feats, np.float16),
            probs=np.asarray(probs, np.float16),
            class_names=self.class_names,
            frame_rate=frame_rate,
            embedder_id=self.embedder_id,
        )
