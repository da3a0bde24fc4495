"""Per-frame features and class probabilities of one video, and their compact serialisation."""

from __future__ import annotations

import io
import json
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt


@dataclass(frozen=True)
class Embeddings:
    """Row k-1 belongs to Label Studio frame k (1-based): the picture shown at ``(k-1)/frame_rate`` s."""

    features: npt.NDArray[np.float16]  # (frames, embedding_dim)
    probs: npt.NDArray[np.float16]  # (frames, classes)
    class_names: list[str]
    frame_rate: float
    embedder_id: str

    @property
    def num_frames(self) -> int:
        return int(self.features.shape[0])

    def to_bytes(self) -> bytes:
        buf = io.BytesIO()
        meta = {"class_names": self.class_names, "frame_rate": self.frame_rate, "embedder_id": self.embedder_id}
        np.savez(
            buf,
            features=self.features.astype(np.float16),
            probs=self.probs.astype(np.float16),
            meta=np.frombuffer(json.dumps(meta).encode(), dtype=np.uint8),
        )
        return buf.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> Embeddings:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            meta = json.loads(npz["meta"].tobytes().decode())
            return cls(
                features=npz["features"],
                probs=npz["probs"],
                class_names=list(meta["class_names"]),
                frame_rate=float(meta["frame_rate"]),
                embedder_id=str(meta["embedder_id"]),
            )
