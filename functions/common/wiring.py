"""Adapter wiring shared by the entry points (predict app, Batch job): built from settings + clients.

The core never imports this module; only ``functions/predict/deps.py`` and ``functions/train/job.py`` do.
"""

from __future__ import annotations

from functions.common.adapters.s3_store import fetch_weights
from functions.common.aws import Clients
from functions.common.embedder import LazyModel
from functions.common.settings import Settings


def lazy_model(settings: Settings, clients: Clients) -> LazyModel:
    """YOLO_MODEL (a path, or an s3:// URI copied once under WORK_DIR), loaded on first use."""
    return LazyModel(
        lambda: fetch_weights(clients.s3, settings.yolo_model, settings.work_dir / "weights"),
        imgsz=settings.yolo_imgsz,
        batch_size=settings.embed_batch_size,
        device=settings.torch_device,
        threads=settings.torch_threads,
    )
