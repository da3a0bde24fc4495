"""The trainer on synthetic embeddings: it learns, it does not learn "never", its split is stable."""

import numpy as np
import pytest

from functions.common.label_config import ClassifierParams
from functions.train.trainer import Sample, build_windows, fit, label_f1, split_heldout

pytestmark = pytest.mark.unit


def sample(task_id: int, rng: np.random.Generator, frames: int = 120, dim: int = 16) -> Sample:
    """A rare label (about 10% of frames) that is on exactly where feature 0 is shifted up."""
    targets = np.zeros((frames, 1), np.uint8)
    start = int(rng.integers(10, frames - 20))
    targets[start : start + 12] = 1
    x = rng.normal(size=(frames, dim)).astype(np.float32)
    x[:, 0] += 3.0 * targets[:, 0]
    return Sample(task_id=task_id, features=x.astype(np.float16), targets=targets)


def test_learns_a_separable_rare_label_to_high_heldout_f1():
    # GIVEN 10 tasks whose rare label is visible in the features
    rng = np.random.default_rng(0)
    samples = [sample(i, rng) for i in range(10)]
    train, heldout = split_heldout(samples)
    # WHEN fitted with a fixed seed
    result = fit(train, heldout, ClassifierParams(epochs=60, hidden_size=16), num_labels=1, max_epochs=200, seed=0)
    # THEN held-out tasks it never saw are labelled well, and the loss weighted the rare positives
    assert len(heldout) == 2
    assert result.metrics["heldout_f1"] > 0.9
    assert result.metrics["pos_weight"][0] > 5
    assert result.history[0]["epoch"] == 1 and result.metrics["best_epoch"] >= 1


def test_early_stops_at_the_f1_threshold():
    rng = np.random.default_rng(1)
    samples = [sample(i, rng) for i in range(3)]
    result = fit(
        samples,
        [],
        ClassifierParams(epochs=500, f1_threshold=0.5, accuracy_threshold=0.0),
        num_labels=1,
        max_epochs=500,
    )
    assert result.metrics["epochs_run"] < 500 and "heldout_f1" not in result.metrics


def test_heldout_needs_five_tasks_and_is_stable():
    rng = np.random.default_rng(2)
    samples = [sample(i, rng, frames=40) for i in range(10)]
    assert split_heldout(samples[:4]) == (samples[:4], [])
    _, held_a = split_heldout(samples)
    _, held_b = split_heldout(list(reversed(samples)))
    assert {s.task_id for s in held_a} == {s.task_id for s in held_b}


def test_windows_pad_short_videos_and_mask_the_padding():
    s = Sample(task_id=1, features=np.ones((5, 3), np.float16), targets=np.ones((5, 1), np.uint8))
    x, y, mask = build_windows([s], 8, 4)
    assert x.shape == (1, 8, 3) and mask.tolist() == [[1, 1, 1, 1, 1, 0, 0, 0]] and y[0, 5:].sum() == 0


def test_label_f1_counts_empty_as_perfect():
    assert label_f1(np.array([[0.1], [0.2]]), np.array([[0], [0]])) == [1.0]
    assert label_f1(np.array([[0.9], [0.2]]), np.array([[1], [1]])) == [pytest.approx(2 / 3)]
