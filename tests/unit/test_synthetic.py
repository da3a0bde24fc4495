"""demo.synthetic: generated videos decode at the intended times; the truth follows the contract."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from demo.synthetic import (
    Appearance,
    VideoSpec,
    random_spec,
    render_frame,
    truth_frames,
    vfr_times,
    write_vfr_video,
    write_video,
)

pytestmark = pytest.mark.unit


def _decode(path: Path) -> tuple[list[float], list[np.ndarray]]:
    times: list[float] = []
    frames: list[np.ndarray] = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            assert frame.time is not None
            times.append(frame.time)
            frames.append(frame.to_ndarray(format="rgb24"))
    return times, frames


def _cv2_times(path: Path) -> list[float]:
    cap = cv2.VideoCapture(str(path))
    assert cap.isOpened()
    times = []
    while True:
        ok, _ = cap.read()
        if not ok:
            break
        times.append(cap.get(cv2.CAP_PROP_POS_MSEC) / 1000.0)
    cap.release()
    return times


def test_contract_example_30fps_file_white_1_0_to_1_5_is_ls_frames_26_to_38_at_25():
    # GIVEN a 30 fps file with an object from 1.0 s to 1.5 s (file frames 30–44, 0-based)
    spec = VideoSpec(seconds=3.0, fps=30.0, appearances=(Appearance(1.0, 1.5, "ball"),))

    # WHEN the truth is sampled at Label Studio's frameRate=25
    truth = truth_frames(spec, 25.0, "ball")

    # THEN it has round(3.0 * 25) entries and exactly LS frames 26..38 (1-based) are True
    assert len(truth) == 75
    assert (np.flatnonzero(truth) + 1).tolist() == list(range(26, 39))
    # AND the other kind never appears
    assert not truth_frames(spec, 25.0, "square").any()


def test_truth_at_the_file_rate_is_the_file_frames():
    # GIVEN the same spec sampled at the file's own rate
    spec = VideoSpec(seconds=3.0, fps=30.0, appearances=(Appearance(1.0, 1.5, "ball"),))

    # WHEN
    truth = truth_frames(spec, 30.0, "ball")

    # THEN LS frame k is file frame k-1: file frames 30..44 (0-based)
    assert len(truth) == 90
    assert np.flatnonzero(truth).tolist() == list(range(30, 45))


def test_truth_past_the_end_of_the_file_holds_the_last_frame():
    # GIVEN a 1 s, 10 fps file whose object lasts to the end, sampled at a rate that does not divide evenly
    spec = VideoSpec(seconds=1.0, fps=10.0, appearances=(Appearance(0.5, 1.0, "square"),))

    # WHEN
    truth = truth_frames(spec, 24.0, "square")

    # THEN the LS frames from 0.5 s on are True (t = 12/24 = 0.5 s is file frame 5)
    assert len(truth) == 24
    assert np.flatnonzero(truth).tolist() == list(range(12, 24))


def test_write_video_round_trip_frames_timestamps_and_content(tmp_path: Path):
    # GIVEN a 2 s, 30 fps spec with a ball from 1.0 s to 1.5 s
    spec = VideoSpec(seconds=2.0, fps=30.0, appearances=(Appearance(1.0, 1.5, "ball"),), seed=3)

    # WHEN it is written and decoded with PyAV
    path = write_video(tmp_path / "v.mp4", spec)
    times, frames = _decode(path)

    # THEN there is one frame per 1/30 s, frame i at exactly i/30 s, at the spec's size
    assert len(times) == spec.n_frames == 60
    np.testing.assert_allclose(times, np.arange(60) / 30.0, atol=1e-6)
    assert frames[0].shape == (120, 160, 3)
    # AND the ball (bright saturated colour) is present exactly on file frames 30..44
    saturation = [float(np.max(f.max(axis=2).astype(int) - f.min(axis=2).astype(int))) for f in frames]
    has_ball = [s > 120 for s in saturation]
    assert [i for i, b in enumerate(has_ball) if b] == list(range(30, 45))
    # AND OpenCV reads the same frames at the same times
    np.testing.assert_allclose(_cv2_times(path), np.arange(60) / 30.0, atol=1e-3)


def test_write_video_is_deterministic_and_seed_dependent(tmp_path: Path):
    # GIVEN one spec, and the same spec with another seed
    spec = VideoSpec(seconds=0.5, fps=10.0, appearances=(Appearance(0.0, 0.3, "square"),), seed=1)

    # WHEN each is written (the first twice)
    a = write_video(tmp_path / "a.mp4", spec).read_bytes()
    b = write_video(tmp_path / "b.mp4", spec).read_bytes()
    c = write_video(tmp_path / "c.mp4", VideoSpec(seconds=0.5, fps=10.0, seed=2)).read_bytes()

    # THEN the same spec gives the same file and another seed a different one
    assert a == b
    assert a != c


def test_write_video_non_integer_rate(tmp_path: Path):
    # GIVEN an NTSC-rate spec
    spec = VideoSpec(seconds=1.0, fps=30000 / 1001)

    # WHEN
    times, _ = _decode(write_video(tmp_path / "ntsc.mp4", spec))

    # THEN the frames are at i * 1001/30000 s
    assert len(times) == 30
    np.testing.assert_allclose(times, np.arange(30) * 1001 / 30000, atol=1e-6)


def test_write_vfr_video_timestamps_and_markers(tmp_path: Path):
    # GIVEN 30 frames at 30 fps then 30 at 10 fps, with white markers on file frames 0 and 45
    segments = [(30, 30.0), (30, 10.0)]

    # WHEN written and decoded with PyAV and with OpenCV
    path = write_vfr_video(tmp_path / "vfr.mp4", segments, marker_frames={0, 45})
    times, frames = _decode(path)
    cv_times = _cv2_times(path)

    # THEN frame 29 is at 29/30 s, frame 30 at 1.0 s, frame 45 at 2.5 s, the last at 3.9 s: in both readers
    expected = [i / 30 for i in range(30)] + [1.0 + j / 10 for j in range(30)]
    np.testing.assert_allclose(vfr_times(segments), expected, atol=1e-12)
    np.testing.assert_allclose(times, expected, atol=1e-6)
    np.testing.assert_allclose(cv_times, expected, atol=1e-3)
    assert times[45] == pytest.approx(2.5)
    # AND only the marker frames are white
    bright = [i for i, f in enumerate(frames) if f.mean() > 200]
    assert bright == [0, 45]
    assert max(f.mean() for i, f in enumerate(frames) if i not in (0, 45)) < 40


def test_render_frame_shape_style_and_determinism():
    # GIVEN two generators with the same seed
    a, b = np.random.default_rng(7), np.random.default_rng(7)

    # WHEN frames are rendered with and without a ball
    with_ball = render_frame(a, 160, 120, ["ball"])
    empty = render_frame(a, 160, 120, [])
    again = render_frame(b, 160, 120, ["ball"])

    # THEN they are RGB uint8, reproducible, and the ball is a bright saturated blob on a dull background
    assert with_ball.shape == (120, 160, 3) and with_ball.dtype == np.uint8
    np.testing.assert_array_equal(with_ball, again)
    sat = lambda f: f.max(axis=2).astype(int) - f.min(axis=2).astype(int)  # noqa: E731
    assert (sat(with_ball) > 120).sum() > 0.01 * 160 * 120
    assert (sat(empty) > 120).sum() == 0
    # AND unknown kinds are refused
    with pytest.raises(ValueError):
        render_frame(a, 160, 120, ["cat"])


def test_render_frame_square_is_red():
    # GIVEN / WHEN a frame with only a square
    frame = render_frame(np.random.default_rng(0), 160, 120, ["square"]).astype(int)

    # THEN a sizeable area is strongly red
    red = (frame[..., 0] > 170) & (frame[..., 1] < 90) & (frame[..., 2] < 90)
    assert red.sum() > 0.04 * 120 * 120


@pytest.mark.parametrize("seed", range(20))
def test_random_spec_constraints(seed: int):
    # GIVEN a random generator
    rng = np.random.default_rng(seed)

    # WHEN a spec with 3 appearances is drawn
    spec = random_spec(rng, seconds=10.0, fps=25.0, kind="ball", n_appearances=3, seed=99)

    # THEN the appearances are within the video, of allowed length, ordered, and separated by >= 0.5 s
    assert spec.seed == 99 and spec.fps == 25.0 and spec.seconds == 10.0
    apps = spec.appearances
    assert len(apps) == 3 and all(a.kind == "ball" for a in apps)
    assert apps[0].start_s >= 0 and apps[-1].end_s <= 10.0 + 1e-9
    for a in apps:
        assert 0.5 - 1e-9 <= a.end_s - a.start_s <= 2.0 + 1e-9
    for prev, nxt in zip(apps, apps[1:], strict=False):
        assert nxt.start_s - prev.end_s >= 0.5 - 1e-9


def test_random_spec_refuses_what_cannot_fit():
    # GIVEN / WHEN / THEN 3 appearances of >= 1 s plus two 0.5 s gaps cannot fit in 3 s
    with pytest.raises(ValueError):
        random_spec(
            np.random.default_rng(0),
            seconds=3.0,
            fps=25.0,
            kind="ball",
            n_appearances=3,
            min_len_s=1.0,
            seed=0,
        )
