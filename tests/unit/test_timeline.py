"""Timeline math: regions <-> per-frame matrices, 1-based inclusive frames."""

import numpy as np
import pytest

from functions.common.ls_models import Range, TimelineValue
from functions.common.timeline import (
    confidence,
    frame_f1,
    mask_to_ranges,
    matrix_to_values,
    probs_to_regions,
    regions_to_matrix,
)

pytestmark = pytest.mark.unit


def tv(start: int, end: int, *labels: str) -> TimelineValue:
    return TimelineValue(ranges=[Range(start=start, end=end)], timelinelabels=list(labels))


def test_range_is_one_based_and_inclusive():
    # GIVEN a region on frames 1..3 of a 5-frame video
    # WHEN it becomes a matrix
    m = regions_to_matrix([tv(1, 3, "ball")], ["ball"], 5)
    # THEN rows 0..2 (frames 1..3) are on, frames 4 and 5 off
    assert m[:, 0].tolist() == [1, 1, 1, 0, 0]


def test_single_frame_region_round_trips():
    # GIVEN a one-frame region on the last frame
    values = [tv(5, 5, "ball")]
    # WHEN converted to a matrix and back
    back = matrix_to_values(regions_to_matrix(values, ["ball"], 5), ["ball"])
    # THEN the same single-frame range comes back
    assert [(v.ranges[0].start, v.ranges[0].end, v.timelinelabels) for v in back] == [(5, 5, ["ball"])]


def test_round_trip_multi_label():
    # GIVEN overlapping regions of two labels
    labels = ["a", "b"]
    values = [tv(2, 4, "a"), tv(7, 9, "a"), tv(3, 8, "b"), tv(10, 10, "b")]
    m = regions_to_matrix(values, labels, 10)
    # WHEN converted back and again to a matrix
    m2 = regions_to_matrix(matrix_to_values(m, labels), labels, 10)
    # THEN nothing changed
    assert np.array_equal(m, m2)
    assert m.sum() == 3 + 3 + 6 + 1


def test_reversed_clipped_and_unknown_ranges_are_normalised():
    # GIVEN what Label Studio may store unchecked: end < start, frames past the end, unknown labels
    values = [tv(4, 2, "a"), tv(8, 50, "a"), tv(0, 1, "zzz"), tv(60, 70, "a")]
    # WHEN converted
    m = regions_to_matrix(values, ["a"], 10)
    # THEN the reversed range is swapped, the long one clipped, the rest ignored
    assert m[:, 0].tolist() == [0, 1, 1, 1, 0, 0, 0, 1, 1, 1]


def test_mask_to_ranges_edges():
    assert mask_to_ranges(np.array([True, False, True, True])) == [(1, 1), (3, 4)]
    assert mask_to_ranges(np.array([], dtype=bool)) == []
    assert mask_to_ranges(np.ones(3, bool)) == [(1, 3)]


def test_probs_to_regions_scores_and_names():
    # GIVEN probabilities of one label over 6 frames
    probs = np.array([[0.1], [0.6], [0.8], [0.2], [0.9], [0.9]])
    # WHEN thresholded at 0.5
    regions = probs_to_regions(probs, ["ball"], 0.5, from_name="lbl", to_name="video")
    # THEN two regions with 1-based ranges, their mean probability, and the control's names
    got = [(r.value["ranges"][0]["start"], r.value["ranges"][0]["end"], r.score) for r in regions]
    assert got == [(2, 3, 0.7), (5, 6, 0.9)]
    assert {(r.from_name, r.to_name, r.type) for r in regions} == {("lbl", "video", "timelinelabels")}
    assert regions[0].id != regions[1].id


def test_confidence_is_low_near_threshold_and_high_far_from_it():
    assert confidence(np.array([0.5, 0.5]), 0.5) == pytest.approx(0.0)
    assert confidence(np.array([0.0, 1.0]), 0.5) == pytest.approx(1.0)
    assert 0 < confidence(np.array([0.3, 0.9]), 0.25) < 1


def test_frame_f1():
    assert frame_f1(np.array([1, 1, 0], bool), np.array([1, 0, 0], bool)) == pytest.approx(2 / 3)
    assert frame_f1(np.zeros(3, bool), np.zeros(3, bool)) == 1.0
