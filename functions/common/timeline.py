"""Timeline math between Label Studio regions and per-frame arrays (pure numpy).

Label Studio frames are 1-based and a range's ``start``/``end`` are both inclusive; row ``k-1`` of
every array here is frame ``k``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

import numpy as np
import numpy.typing as npt

from functions.common.ls_models import Range, RegionResult, TimelineValue

TIMELINE_TYPE = "timelinelabels"


def regions_to_matrix(values: Iterable[TimelineValue], labels: Sequence[str], num_frames: int) -> npt.NDArray[np.uint8]:
    """Multi-hot (frames, labels) targets. Ranges are normalised (swapped, clipped to the video)
    because Label Studio stores whatever the editor sent; labels outside ``labels`` are ignored."""
    matrix = np.zeros((num_frames, len(labels)), dtype=np.uint8)
    column = {label: i for i, label in enumerate(labels)}
    for value in values:
        cols = [column[label] for label in value.timelinelabels if label in column]
        if not cols:
            continue
        for rng in value.ranges:
            start, end = sorted((rng.start, rng.end))
            start, end = max(start, 1), min(end, num_frames)
            if start > end:
                continue
            matrix[start - 1 : end, cols] = 1
    return matrix


def mask_to_ranges(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """Runs of True as 1-based inclusive ``(start, end)`` frame pairs."""
    flags = np.concatenate(([False], np.asarray(mask, dtype=bool), [False]))
    edges = np.flatnonzero(np.diff(flags.astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2]
    # diff index i marks a change between frame i-1 and i (0-based), so a run [s, e) 0-based is
    # frames s+1..e 1-based inclusive.
    return [(int(s) + 1, int(e)) for s, e in zip(starts, ends, strict=True)]


def matrix_to_values(matrix: npt.NDArray[np.integer], labels: Sequence[str]) -> list[TimelineValue]:
    """Inverse of :func:`regions_to_matrix`: one value (one range) per run per label."""
    values = []
    for col, label in enumerate(labels):
        for start, end in mask_to_ranges(matrix[:, col] > 0):
            values.append(TimelineValue(ranges=[Range(start=start, end=end)], timelinelabels=[label]))
    return values


def confidence(probs: npt.NDArray[np.floating], threshold: float) -> float:
    """How sure the per-frame decisions are, 0..1: each probability's distance from the threshold,
    scaled by the room on its side. Label Studio sorts tasks by this, so low = worth annotating."""
    if probs.size == 0:
        return 0.0
    p = probs.astype(np.float64)
    above = (p - threshold) / max(1.0 - threshold, 1e-9)
    below = (threshold - p) / max(threshold, 1e-9)
    return float(np.clip(np.where(p >= threshold, above, below), 0.0, 1.0).mean())


def _region_id(from_name: str, label: str, start: int) -> str:
    return hashlib.sha1(f"{from_name}|{label}|{start}".encode()).hexdigest()[:10]


def probs_to_regions(
    probs: npt.NDArray[np.floating],
    labels: Sequence[str],
    threshold: float,
    *,
    from_name: str,
    to_name: str,
) -> list[RegionResult]:
    """Frames whose probability reaches ``threshold`` become regions, scored by their mean probability."""
    results = []
    for col, label in enumerate(labels):
        column = probs[:, col]
        for start, end in mask_to_ranges(column >= threshold):
            results.append(
                RegionResult(
                    id=_region_id(from_name, label, start),
                    type=TIMELINE_TYPE,
                    from_name=from_name,
                    to_name=to_name,
                    value={"ranges": [{"start": start, "end": end}], "timelinelabels": [label]},
                    score=round(float(column[start - 1 : end].mean()), 4),
                )
            )
    return results


def frame_f1(pred: npt.NDArray[np.bool_], truth: npt.NDArray[np.bool_]) -> float:
    """Frame-level F1 of one label; 1.0 when both are empty (nothing to find, nothing found)."""
    pred, truth = np.asarray(pred, bool), np.asarray(truth, bool)
    tp = int((pred & truth).sum())
    denom = int(pred.sum()) + int(truth.sum())
    return 1.0 if denom == 0 else 2.0 * tp / denom
