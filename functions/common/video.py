"""Frames of a video as Label Studio numbers them: by presentation time at the config's frameRate.

Label Studio frame ``k`` (1-based) is the picture on screen at ``(k-1)/frameRate`` seconds, whatever
the file's own (possibly variable) frame rate, and a video has ``round(duration * frameRate)`` frames.
So frames are chosen from decoded timestamps, never from the decode index.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt

from functions.common.errors import MediaError

log = logging.getLogger(__name__)

T = TypeVar("T")
RGBFrame = npt.NDArray[np.uint8]


@dataclass(frozen=True)
class VideoInfo:
    duration_s: float
    num_frames: int  # Label Studio frames at the requested frame rate
    frame_rate: float


def _open(path: Path) -> Any:
    import av  # PyAV: exact per-frame timestamps, also for variable frame rate files

    try:
        return av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise MediaError(f"cannot open the video file ({exc}); is the task's media a video?") from exc


def _duration(container: Any, stream: Any) -> float | None:
    if stream.duration is not None and stream.time_base is not None:
        return float(stream.duration * stream.time_base)
    if container.duration is not None:
        return float(container.duration) / 1_000_000  # AV_TIME_BASE
    return None


def probe(path: Path, frame_rate: float) -> VideoInfo:
    """Duration and Label Studio frame count, from the container header (no decoding)."""
    with _open(path) as container:
        if not container.streams.video:
            raise MediaError("the media file has no video stream")
        duration = _duration(container, container.streams.video[0])
    if not duration or duration <= 0:
        raise MediaError("the video has no duration in its header; re-encode it (e.g. ffmpeg -i in.mp4 out.mp4)")
    return VideoInfo(duration_s=duration, num_frames=max(1, round(duration * frame_rate)), frame_rate=frame_rate)


def iter_frames(
    path: Path,
    frame_rate: float,
    transform: Callable[[RGBFrame], T] | None = None,
    short_side: int | None = None,
) -> Iterator[T]:
    """Yield exactly ``probe(path, frame_rate).num_frames`` items, item ``k-1`` for Label Studio frame ``k``.

    ``short_side`` scales pictures (aspect kept) inside FFmpeg's colour conversion, which is far cheaper
    than converting the full frame to RGB and resizing it afterwards.

    ``transform`` runs once per *decoded frame that is shown*, even when that frame is repeated for
    several Label Studio frames (frameRate above the file's fps), and never on skipped frames.
    """
    import av

    info = probe(path, frame_rate)
    fn: Callable[[RGBFrame], Any] = transform or (lambda a: a)
    emitted = 0
    current: Any = None  # decoded av.VideoFrame on screen now
    current_out: Any = None
    t0: float | None = None

    def shown(frame: Any) -> Any:
        nonlocal current_out
        if current_out is None:
            size: dict[str, int] = {}
            if short_side and min(frame.width, frame.height) > short_side:
                scale = short_side / min(frame.width, frame.height)
                size = {
                    "width": max(short_side, round(frame.width * scale)),
                    "height": max(short_side, round(frame.height * scale)),
                }
            current_out = fn(frame.to_ndarray(format="rgb24", **size))
        return current_out

    with _open(path) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        try:
            for index, frame in enumerate(container.decode(stream)):
                t = frame.time if frame.time is not None else index / float(stream.average_rate or frame_rate)
                if t0 is None:
                    t0 = t  # the first picture is what the player shows at 0 s
                t -= t0
                if current is not None:
                    # Every LS frame whose display time falls before this picture shows the previous one.
                    while emitted < info.num_frames and emitted / frame_rate < t - 1e-9:
                        yield shown(current)
                        emitted += 1
                if emitted >= info.num_frames:
                    return
                current, current_out = frame, None
        except av.error.FFmpegError as exc:
            raise MediaError(f"the video cannot be decoded after {emitted} frames ({exc})") from exc
        if current is None:
            raise MediaError("the video has no decodable frames")
        while emitted < info.num_frames:
            yield shown(current)
            emitted += 1


def batched(items: Iterator[T], size: int) -> Iterator[list[T]]:
    batch: list[T] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
