"""Embeddings of a task's video, through the S3 cache: shared by /predict and the training job.

Warm path: the media index (URL -> content hash) and one cached object; no download, no decode.
Cold path: download, hash, look for the same content under another URL, else embed and store.
"""

from __future__ import annotations

import hashlib
import logging
import tempfile
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from functions.common.features import Embeddings
from functions.common.model_card import ModelCard
from functions.common.ports import FrameEmbedder, ObjectStore, VideoSource
from functions.common.storage import EmbeddingCache, MediaEntry, media_identity

log = logging.getLogger(__name__)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass
class EmbeddingProvider:
    objects: ObjectStore
    media: VideoSource
    model_card: Callable[[], ModelCard]
    embedder: Callable[[], FrameEmbedder]
    work_dir: Path
    counters: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def cached(self, url: str, frame_rate: float, hostname: str = "") -> Embeddings | None:
        entry = EmbeddingCache(self.objects).lookup_media(media_identity(url, hostname))
        if entry is None:
            return None
        return EmbeddingCache(self.objects).load(self.model_card().embedder_id, frame_rate, entry.content_sha256)

    def get(self, url: str, frame_rate: float, *, hostname: str = "", access_token: str = "") -> Embeddings:
        cached = self.cached(url, frame_rate, hostname)
        if cached is not None:
            self.counters["cache_hits"] += 1
            return cached
        self.counters["cache_misses"] += 1
        cache = EmbeddingCache(self.objects)
        card = self.model_card()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=self.work_dir) as tmp:
            path = self.media.fetch(url, Path(tmp) / "video", hostname=hostname, access_token=access_token)
            self.counters["downloads"] += 1
            digest = sha256_file(path)
            cache.remember_media(media_identity(url, hostname), MediaEntry(digest, path.stat().st_size))
            same = cache.load(card.embedder_id, frame_rate, digest)  # the same video under another URL
            if same is not None:
                return same
            embedder = self.embedder()
            with self._lock:  # one forward pass at a time: the embedder keeps per-call state
                embeddings = embedder.embed_video(path, frame_rate)
            self.counters["videos_embedded"] += 1
            self.counters["frames_embedded"] += embeddings.num_frames
        cache.save(digest, embeddings)
        return embeddings
