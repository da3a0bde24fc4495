"""Ports: what the core needs from the outside world, as structural types.

Object storage is one port (:class:`ObjectStore`): the embedding cache, checkpoint store, record
store and job state are pure key-layout logic on top of it (``storage.py``), so one S3 adapter and
one in-memory fake serve them all. The queue, the job submitter, the video source and the embedder
are ports of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from functions.common.features import Embeddings
    from functions.common.ls_models import TrainRequest


@dataclass(frozen=True)
class StoredObject:
    body: bytes
    etag: str


class ObjectStore(Protocol):
    """A bucket. Conditional writes raise ``ConflictError``; other failures ``StorageError``."""

    def get(self, key: str) -> StoredObject | None: ...

    def put(self, key: str, body: bytes, *, if_match: str | None = None, if_none_match: bool = False) -> str:
        """Write ``body``; returns the new ETag. ``if_match``/``if_none_match`` make it conditional."""
        ...

    def delete(self, key: str) -> None: ...

    def list_keys(self, prefix: str) -> list[str]: ...

    def exists(self, key: str) -> bool: ...


class TrainQueue(Protocol):
    def send(self, request: TrainRequest) -> None: ...


class JobSubmitter(Protocol):
    """Starts one training job; ``name`` is deterministic so a retried submit is recognisable."""

    def submit(self, name: str, request: TrainRequest) -> str: ...

    def is_active(self, job_id: str) -> bool:
        """False once the job has finished, failed, or never existed."""
        ...


class VideoSource(Protocol):
    """Fetches a task's media to a local file (streamed, size-capped)."""

    def fetch(self, url: str, dest: Path, *, hostname: str = "", access_token: str = "") -> Path: ...


class FrameEmbedder(Protocol):
    """Per-frame features and class probabilities of a video, sampled at Label Studio's frame rate."""

    @property
    def embedder_id(self) -> str: ...

    @property
    def class_names(self) -> list[str]: ...

    def embed_video(self, path: Path, frame_rate: float) -> Embeddings: ...
