"""Per-frame YOLO classification features and probabilities, in batches, on GPU when present.

The feature is the pooled penultimate activation of the ``Classify`` head (the input of its final
``Linear``; 1280 values for yolov8*-cls), captured with a forward hook during the same batched
forward pass that yields the class probabilities.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from functions.common.errors import ModelLoadError
from functions.common.features import Embeddings
from functions.common.model_card import ModelCard, read_model_card
from functions.common.video import RGBFrame, batched, iter_frames

log = logging.getLogger(__name__)

T = TypeVar("T")


def pick_device(requested: str) -> str:
    import torch

    if requested != "auto":
        return requested
    return "cuda" if torch.cuda.is_available() else "cpu"


def center_crop_resize(frame: RGBFrame, size: int) -> RGBFrame:
    """Ultralytics' classification preprocessing: short side to ``size``, then a centred square crop."""
    import cv2

    h, w = frame.shape[:2]
    scale = size / min(h, w)
    nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(frame, (nw, nh), interpolation=interp)
    top, left = (nh - size) // 2, (nw - size) // 2
    out: RGBFrame = np.ascontiguousarray(resized[top : top + size, left : left + size])
    return out


class YoloEmbedder:
    """Batched features + probabilities from an Ultralytics YOLO classification checkpoint."""

    def __init__(
        self,
        card: ModelCard,
        *,
        batch_size: int = 32,
        device: str = "auto",
        threads: int = 0,
    ) -> None:
        os.environ.setdefault("YOLO_OFFLINE", "1")
        import torch
        from ultralytics.models.yolo.model import YOLO

        weights = card.weights
        if not weights.is_file():
            raise ModelLoadError(f"YOLO_MODEL: no weights file at {weights}")
        started = time.perf_counter()
        try:
            yolo = YOLO(str(weights), task="classify")
        except Exception as exc:  # ultralytics raises many kinds on a bad file
            raise ModelLoadError(f"YOLO_MODEL: cannot load {weights.name} as a YOLO classifier ({exc})") from exc
        model: Any = yolo.model
        head = getattr(model, "model", [None])[-1]
        if head is None or not hasattr(head, "linear"):
            raise ModelLoadError(f"YOLO_MODEL: {weights.name} is not a classification model (no Classify head)")
        self._imgsz = card.imgsz
        self._device = pick_device(device)
        # Ultralytics pins torch to one thread when it sets up; give the work the cores back.
        torch.set_num_threads(threads or os.cpu_count() or 1)
        self._half = self._device.startswith("cuda")
        model = model.to(self._device).eval()
        model = model.half() if self._half else model.float()
        if self._device == "cpu":
            model = model.to(memory_format=torch.channels_last)
        self._model = model
        self._captured: list[Any] = []
        head.linear.register_forward_hook(lambda _m, inputs, _out: self._captured.append(inputs[0]))
        names = yolo.names
        self._class_names = [str(names[i]) for i in range(len(names))]
        self._batch_size = batch_size
        self._embedder_id = card.embedder_id
        log.info(
            "embedder %s loaded on %s in %.2fs (%d classes)",
            self._embedder_id,
            self._device,
            time.perf_counter() - started,
            len(self._class_names),
        )

    @property
    def embedder_id(self) -> str:
        return self._embedder_id

    @property
    def class_names(self) -> list[str]:
        return self._class_names

    @property
    def imgsz(self) -> int:
        return self._imgsz

    @property
    def device(self) -> str:
        return self._device

    def preprocess(self, frame: RGBFrame) -> RGBFrame:
        return center_crop_resize(frame, self._imgsz)

    def embed_batch(self, crops: npt.NDArray[np.uint8]) -> tuple[npt.NDArray[np.float16], npt.NDArray[np.float16]]:
        """Features (B, D) and probabilities (B, C) of preprocessed ``(B, imgsz, imgsz, 3)`` RGB crops."""
        import torch

        x = torch.from_numpy(crops).to(self._device).permute(0, 3, 1, 2)
        x = x.half() if self._half else x.float()
        x = x.div_(255.0)
        if self._device == "cpu":
            x = x.contiguous(memory_format=torch.channels_last)
        self._captured.clear()
        with torch.inference_mode():
            out = self._model(x)
        probs = out[0] if isinstance(out, tuple | list) else out
        feats = self._captured[-1]
        return (
            feats.float().cpu().numpy().astype(np.float16),
            probs.float().cpu().numpy().astype(np.float16),
        )

    def embed_video(self, path: Path, frame_rate: float) -> Embeddings:
        started = time.perf_counter()
        feats, probs = [], []
        frames = iter_frames(path, frame_rate, self.preprocess, short_side=self._imgsz)
        # Decoding (FFmpeg) and the forward pass (torch) both release the GIL: decode the next batch
        # in a thread while this one runs through the model.
        for batch in prefetched(batched(frames, self._batch_size), depth=2):
            f, p = self.embed_batch(np.stack(batch))
            feats.append(f)
            probs.append(p)
        features = np.concatenate(feats)
        log.info(
            "embedded %d frames at %.6g fps in %.2fs",
            len(features),
            frame_rate,
            time.perf_counter() - started,
        )
        return Embeddings(
            features=features,
            probs=np.concatenate(probs),
            class_names=self._class_names,
            frame_rate=frame_rate,
            embedder_id=self._embedder_id,
        )


def prefetched(items: Iterator[T], depth: int) -> Iterator[T]:
    """``items``, produced by a background thread up to ``depth`` ahead; its errors re-raise here."""
    buffer: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                if stop.is_set():
                    return
                buffer.put(("item", item))
            buffer.put(("end", None))
        except BaseException as exc:  # handed to the consumer, which raises it
            buffer.put(("error", exc))

    worker = threading.Thread(target=produce, name="frame-decoder", daemon=True)
    worker.start()
    try:
        while True:
            kind, value = buffer.get()
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while worker.is_alive():  # unblock a producer waiting on a full buffer
            try:
                buffer.get_nowait()
            except queue.Empty:
                worker.join(timeout=0.05)


class LazyModel:
    """The model card now (cheap, for /setup) and the embedder on first use (torch, weights).

    ``resolve_weights`` turns YOLO_MODEL into a local file (an adapter copies ``s3://`` URIs).
    """

    def __init__(
        self,
        resolve_weights: Callable[[], Path],
        *,
        imgsz: int = 0,
        batch_size: int = 32,
        device: str = "auto",
        threads: int = 0,
    ) -> None:
        self._resolve = resolve_weights
        self._imgsz = imgsz
        self._options = {"batch_size": batch_size, "device": device, "threads": threads}
        self._lock = threading.Lock()
        self._card: ModelCard | None = None
        self._embedder: YoloEmbedder | None = None

    def card(self) -> ModelCard:
        with self._lock:
            if self._card is None:
                self._card = read_model_card(self._resolve(), self._imgsz)
            return self._card

    def embedder(self) -> YoloEmbedder:
        card = self.card()
        with self._lock:
            if self._embedder is None:
                self._embedder = YoloEmbedder(card, **self._options)  # type: ignore[arg-type]
            return self._embedder
