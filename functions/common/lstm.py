"""The trainable per-frame classifier: an LSTM over windows of frame embeddings, multi-label.

Checkpoints are a ``state_dict`` (loaded with ``weights_only=True``) plus JSON metadata
(:class:`~functions.common.ls_models.CheckpointMeta`) that holds everything needed to rebuild the
module, so nothing is unpickled and a torch upgrade cannot break old checkpoints.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from functions.common.label_config import ClassifierParams

ARCH = "ln-proj-bilstm-v1"


class FrameLSTM(nn.Module):
    """(batch, frames, embedding_dim) -> (batch, frames, labels) logits."""

    def __init__(self, embedding_dim: int, num_labels: int, hidden_size: int = 32, num_layers: int = 1) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(embedding_dim)
        self.proj = nn.Linear(embedding_dim, hidden_size)
        self.lstm = nn.LSTM(hidden_size, hidden_size, num_layers=num_layers, batch_first=True, bidirectional=True)
        self.head = nn.Linear(2 * hidden_size, num_labels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.proj(self.norm(x)))
        h, _ = self.lstm(h)
        out: torch.Tensor = self.head(h)
        return out


def build_model(embedding_dim: int, num_labels: int, params: ClassifierParams) -> FrameLSTM:
    return FrameLSTM(embedding_dim, num_labels, params.hidden_size, params.num_layers)


def window_starts(num_frames: int, size: int, stride: int) -> list[int]:
    """Window starts covering every frame; the last window ends at the last frame."""
    if num_frames <= size:
        return [0]
    starts = list(range(0, num_frames - size + 1, max(1, stride)))
    if starts[-1] != num_frames - size:
        starts.append(num_frames - size)
    return starts


def predict_probs(
    model: FrameLSTM, features: npt.NDArray[np.floating[Any]], sequence_size: int, device: str = "cpu"
) -> npt.NDArray[np.float32]:
    """Per-frame probabilities (frames, labels): overlapping windows (half-window stride) are run
    in one batch and each frame's probability is the mean over the windows that contain it."""
    n = int(features.shape[0])
    size = min(sequence_size, n)
    starts = window_starts(n, size, size // 2 or 1)
    x = torch.from_numpy(np.stack([features[s : s + size] for s in starts]).astype(np.float32)).to(device)
    model.eval()
    with torch.inference_mode():
        probs = torch.sigmoid(model.to(device)(x)).cpu().numpy()
    total = np.zeros((n, probs.shape[-1]), dtype=np.float64)
    count = np.zeros((n, 1), dtype=np.float64)
    for i, s in enumerate(starts):
        total[s : s + size] += probs[i]
        count[s : s + size] += 1
    result: npt.NDArray[np.float32] = (total / count).astype(np.float32)
    return result


def state_to_bytes(model: nn.Module) -> bytes:
    buf = io.BytesIO()
    torch.save(model.state_dict(), buf)
    return buf.getvalue()


def load_model(weights: bytes, embedding_dim: int, num_labels: int, params: ClassifierParams) -> FrameLSTM:
    """Rebuild from metadata and load the tensors only (``weights_only=True``: no pickled code runs)."""
    model = build_model(embedding_dim, num_labels, params)
    state = torch.load(io.BytesIO(weights), map_location="cpu", weights_only=True)
    model.load_state_dict(state)
    model.eval()
    return model
