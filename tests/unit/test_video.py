"""Frames are sampled by presentation time at Label Studio's frameRate, not by decode index."""

from pathlib import Path

import numpy as np
import pytest

from demo.synthetic import Appearance, VideoSpec, truth_frames, write_vfr_video, write_video
from functions.common.errors import MediaError
from functions.common.video import iter_frames, probe

pytestmark = pytest.mark.unit


def bright(frames) -> list[int]:
    """1-based Label Studio frame numbers of bright frames."""
    return [k for k, f in enumerate(frames, start=1) if f.mean() > 128]


def test_30fps_file_at_frame_rate_25(tmp_path: Path):
    # GIVEN a 30 fps file, white from 1.0 s to 1.5 s (file frames 30..44)
    path = write_vfr_video(tmp_path / "v.mp4", [(90, 30.0)], marker_frames=set(range(30, 45)))
    # WHEN sampled at Label Studio's frameRate="25"
    frames = list(iter_frames(path, 25.0))
    # THEN the video has round(3 s * 25) frames and frames 26..38 are white (contract doc §7)
    assert len(frames) == 75
    assert bright(frames) == list(range(26, 39))


def test_frame_rate_above_file_fps_repeats_pictures_and_transforms_once(tmp_path: Path):
    # GIVEN a 10 fps file, white on file frame 5 (0.5 s .. 0.6 s)
    path = write_vfr_video(tmp_path / "v.mp4", [(20, 10.0)], marker_frames={5})
    calls = []

    def transform(frame):
        calls.append(1)
        return frame

    # WHEN sampled at 30 frames per second
    frames = list(iter_frames(path, 30.0, transform))
    # THEN LS frames 16..18 (0.5 s, 0.533 s, 0.567 s) show it, and each file frame was transformed once
    assert bright(frames) == [16, 17, 18]
    assert len(frames) == 60 and len(calls) == 20


def test_variable_frame_rate_uses_timestamps(tmp_path: Path):
    # GIVEN 30 frames at 30 fps then 30 at 10 fps; file frame 45 is white, shown 2.5 s .. 2.6 s
    path = write_vfr_video(tmp_path / "vfr.mp4", [(30, 30.0), (30, 10.0)], marker_frames={45})
    # WHEN sampled at 10 fps
    frames = list(iter_frames(path, 10.0))
    # THEN LS frame 26 (2.5 s) is the white one; decode index / average fps would put it elsewhere
    assert bright(frames) == [26]


def test_truth_frames_agree_with_sampling(tmp_path: Path):
    spec = VideoSpec(seconds=4, fps=30, appearances=(Appearance(1.0, 2.2, "ball"),), seed=3)
    path = write_video(tmp_path / "b.mp4", spec)
    info = probe(path, 24.0)
    assert info.num_frames == 96
    truth = truth_frames(spec, 24.0, "ball")
    assert len(truth) == 96 and truth.sum() == pytest.approx(1.2 * 24, abs=1)


def test_not_a_video(tmp_path: Path):
    bad = tmp_path / "x.mp4"
    bad.write_bytes(b"not a video at all" * 10)
    with pytest.raises(MediaError):
        list(iter_frames(bad, 25.0))


def test_frames_are_rgb_uint8(tmp_path: Path):
    path = write_vfr_video(tmp_path / "v.mp4", [(3, 30.0)])
    (first, *_rest) = list(iter_frames(path, 30.0))
    assert first.dtype == np.uint8 and first.shape == (120, 160, 3)
