"""Fitting the LSTM on annotated tasks (pure: arrays in, state_dict and metrics out; no I/O).

Labelled frames are often a few percent of a video, so the loss weights each label's positives by
its negative/positive ratio, and early stopping watches per-label F1 on held-out *tasks* (whole
videos the model never trained on) rather than accuracy, which "never" would already max out.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import torch
from torch import nn

from functions.common.label_config import ClassifierParams
from functions.common.lstm import FrameLSTM, build_model, predict_probs, window_starts

log = logging.getLogger(__name__)

MIN_TASKS_FOR_HELDOUT = 5
HELDOUT_FRACTION = 0.2
PATIENCE_EPOCHS = 15
# Without held-out tasks the validation score is measured on the training tasks and reaches the F1
# threshold almost at once; train at least this long before trusting it.
MIN_EPOCHS_WITHOUT_HELDOUT = 20
MAX_POS_WEIGHT = 50.0


@dataclass(frozen=True)
class Sample:
    """One annotated task: its frame embeddings and multi-hot targets (row k-1 = LS frame k)."""

    task_id: int
    features: npt.NDArray[np.floating[Any]]  # (frames, dim)
    targets: npt.NDArray[np.uint8]  # (frames, labels)


@dataclass
class FitResult:
    model: FrameLSTM
    metrics: dict[str, Any]
    history: list[dict[str, float]] = field(default_factory=list)


def split_heldout(
    samples: Sequence[Sample], *, min_tasks: int = MIN_TASKS_FOR_HELDOUT
) -> tuple[list[Sample], list[Sample]]:
    """Deterministic split by a hash of the task id: a task stays on its side as tasks are added
    (mostly), and nothing is held out below ``min_tasks``."""
    if len(samples) < min_tasks:
        return list(samples), []
    ranked = sorted(samples, key=lambda s: hashlib.sha256(str(s.task_id).encode()).hexdigest())
    n_heldout = max(1, round(len(samples) * HELDOUT_FRACTION))
    return ranked[n_heldout:], ranked[:n_heldout]


def build_windows(
    samples: Sequence[Sample], size: int, stride: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Windows (W, size, dim), targets (W, size, labels) and a mask (W, size) that is 0 on padding
    (videos shorter than the window are padded at the end)."""
    xs, ys, masks = [], [], []
    for s in samples:
        n = s.features.shape[0]
        for start in window_starts(n, size, stride):
            x = s.features[start : start + size].astype(np.float32)
            y = s.targets[start : start + size].astype(np.float32)
            m: npt.NDArray[np.float32] = np.ones(len(x), np.float32)
            if len(x) < size:
                pad = size - len(x)
                x = np.pad(x, ((0, pad), (0, 0)))
                y = np.pad(y, ((0, pad), (0, 0)))
                m = np.pad(m, (0, pad)).astype(np.float32)
            xs.append(x)
            ys.append(y)
            masks.append(m)
    return np.stack(xs), np.stack(ys), np.stack(masks)


def label_f1(
    probs: npt.NDArray[np.floating[Any]], targets: npt.NDArray[np.integer[Any]], threshold: float = 0.5
) -> list[float]:
    """Frame F1 per label over all frames given (a label never present and never predicted scores 1)."""
    pred = probs >= threshold
    truth = targets > 0
    scores = []
    for col in range(truth.shape[1]):
        tp = float((pred[:, col] & truth[:, col]).sum())
        denom = float(pred[:, col].sum() + truth[:, col].sum())
        scores.append(1.0 if denom == 0 else 2 * tp / denom)
    return scores


def evaluate(model: FrameLSTM, samples: Sequence[Sample], window: int) -> dict[str, Any]:
    """Per-label F1 and frame accuracy of whole-video predictions (windows stitched as in /predict)."""
    probs = np.concatenate([predict_probs(model, s.features, window) for s in samples])
    targets = np.concatenate([s.targets for s in samples])
    per_label = label_f1(probs, targets)
    accuracy = float(((probs >= 0.5) == (targets > 0)).mean())
    return {"f1": float(np.mean(per_label)), "per_label_f1": per_label, "accuracy": accuracy}


def pos_weights(targets: npt.NDArray[np.float32], mask: npt.NDArray[np.float32]) -> torch.Tensor:
    valid = mask[..., None] > 0
    pos = (targets * valid).sum(axis=(0, 1))
    neg = ((1 - targets) * valid).sum(axis=(0, 1))
    return torch.tensor(np.clip(neg / np.maximum(pos, 1.0), 1.0, MAX_POS_WEIGHT), dtype=torch.float32)


def fit(
    train: Sequence[Sample],
    heldout: Sequence[Sample],
    params: ClassifierParams,
    *,
    num_labels: int,
    max_epochs: int,
    seed: int = 0,
    init_state: dict[str, torch.Tensor] | None = None,
    device: str = "cpu",
    batch_size: int = 64,
    lr: float = 3e-3,
    on_epoch: Callable[[dict[str, float]], None] | None = None,
) -> FitResult:
    """Train, keeping the epoch with the best validation F1 (held-out tasks when there are any,
    else the training tasks). Stops at ``f1_threshold`` and ``accuracy_threshold``, or after
    ``PATIENCE_EPOCHS`` epochs without improvement."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    dim = int(train[0].features.shape[1])
    window = params.sequence_size
    x, y, mask = build_windows(train, window, max(1, window // 2))
    model = build_model(dim, num_labels, params)
    if init_state is not None:
        model.load_state_dict(init_state)
    model.to(device)
    weights = pos_weights(y, mask).to(device)
    loss_fn = nn.BCEWithLogitsLoss(pos_weight=weights, reduction="none")
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    xt, yt, mt = (torch.from_numpy(a).to(device) for a in (x, y, mask))
    validation = list(heldout) or list(train)
    best: tuple[float, int, dict[str, torch.Tensor]] | None = None
    history: list[dict[str, float]] = []
    epochs = min(params.epochs, max_epochs)
    started = time.perf_counter()
    for epoch in range(1, epochs + 1):
        model.train()
        order = rng.permutation(len(xt))
        total = 0.0
        for i in range(0, len(order), batch_size):
            idx = torch.from_numpy(order[i : i + batch_size]).to(device)
            optimizer.zero_grad()
            raw = loss_fn(model(xt[idx]), yt[idx]).mean(dim=-1)
            loss = (raw * mt[idx]).sum() / mt[idx].sum().clamp(min=1)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            optimizer.step()
            total += float(loss.detach()) * len(idx)
        scores = evaluate(model.cpu(), validation, window)
        model.to(device)
        entry = {"epoch": epoch, "loss": total / len(order), "f1": scores["f1"], "accuracy": scores["accuracy"]}
        history.append(entry)
        if on_epoch:
            on_epoch(entry)
        if best is None or scores["f1"] > best[0] + 1e-6:
            best = (scores["f1"], epoch, {k: v.detach().cpu().clone() for k, v in model.state_dict().items()})
        warmed_up = bool(heldout) or epoch >= min(MIN_EPOCHS_WITHOUT_HELDOUT, epochs)
        if warmed_up and scores["f1"] >= params.f1_threshold and scores["accuracy"] >= params.accuracy_threshold:
            break
        if epoch - best[1] >= PATIENCE_EPOCHS:
            break
    assert best is not None
    model = model.cpu()
    model.load_state_dict(best[2])
    model.eval()
    final_train = evaluate(model, train, window)
    metrics: dict[str, Any] = {
        "train_f1": final_train["f1"],
        "train_accuracy": final_train["accuracy"],
        "best_epoch": best[1],
        "epochs_run": len(history),
        "train_tasks": len(train),
        "heldout_tasks": len(heldout),
        "train_windows": len(xt),
        "fit_seconds": round(time.perf_counter() - started, 3),
        "pos_weight": [round(float(w), 3) for w in weights.cpu()],
    }
    if heldout:
        final = evaluate(model, heldout, window)
        metrics.update(
            heldout_f1=final["f1"], heldout_per_label_f1=final["per_label_f1"], heldout_accuracy=final["accuracy"]
        )
    return FitResult(model=model, metrics=metrics, history=history)
