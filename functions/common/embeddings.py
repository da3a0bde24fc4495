"""Embeddings of a task's video, through the S3 cache: shared by /predict and the training job.

Warm path: the media index (URL -> content hash) and one cached object; no download, no decode.
Cold path: download, hash, look for the same content under another URL, else embed and store.
"""

from __future__ import annotations

import logging
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from functions.common.errors import EmbeddingDeferred
from functions.common.features import Embeddings
from functions.common.model_card import ModelCard, file_digest
from functions.common.ports import FrameEmbedder, ObjectStore, VideoSource
from functions.common.storage import EmbeddingCache, MediaEntry, media_identity
from functions.common.video import probe

log = logging.getLogger(__name__)


@dataclass
class EmbeddingProvider:
    objects: ObjectStore
    media: VideoSource
    model_card: Callable[[], ModelCard]
    embedder: Callable[[], FrameEmbedder]
    work_dir: Path
    fps_estimate: float = 60.0
    counters: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def cached(self, url: str, frame_rate: float, hostname: str = "") -> Embeddings | None:
        entry = EmbeddingCache(self.objects).lookup_media(media_identity(url, hostname))
        if entry is None:
            return None
        return EmbeddingCache(self.objects).load(self.model_card().embedder_id, frame_rate, entry.content_sha256)

    def get(
        self,
        url: str,
        frame_rate: float,
        *,
        hostname: str = "",
        access_token: str = "",
        budget_s: float | None = None,
    ) -> Embeddings:
        """Embeddings from the cache, else computed and cached.

        Raises:
            EmbeddingDeferred: with ``budget_s``, when the video would take longer than that to embed
                at the measured throughput (the video is hashed and indexed, but not embedded).
        """
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
            digest = file_digest(path)
            cache.remember_media(media_identity(url, hostname), MediaEntry(digest, path.stat().st_size))
            same = cache.load(card.embedder_id, frame_rate, digest)  # the same video under another URL
            if same is not None:
                return same
            if budget_s is not None:
                estimated = probe(path, frame_rate).num_frames / self.fps_estimate
                if estimated > budget_s:
                    self.counters["videos_deferred"] += 1
                    raise EmbeddingDeferred(url, frame_rate, estimated)
            embedder = self.embedder()
            started = time.perf_counter()
            with self._lock:  # one forward pass at a time: the embedder keeps per-call state
                embeddings = embedder.embed_video(path, frame_rate)
            measured = embeddings.num_frames / max(time.perf_counter() - started, 1e-3)
            # Smoothed, so one slow cold start (model load, page cache) does not defer everything after it.
            self.fps_estimate = 0.5 * self.fps_estimate + 0.5 * measured
            self.counters["videos_embedded"] += 1
            self.counters["frames_embedded"] += embeddings.num_frames
        cache.save(digest, embeddings)
        return embeddings
