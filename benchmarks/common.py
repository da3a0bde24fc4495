"""Shared bits for the benchmark scripts (they print figures; nothing here asserts a speed)."""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

from demo.synthetic import Appearance, VideoSpec, write_video

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / ".cache" / "bench"


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def long_video(seconds: float = 60.0, fps: float = 25.0, width: int = 640, height: int = 360) -> Path:
    """A 60 s 640x360 video (the size the offline notes measured), generated once and reused."""
    path = BENCH_DIR / f"video-{seconds:g}s-{fps:g}fps-{width}x{height}.mp4"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        spec = VideoSpec(
            seconds=seconds,
            fps=fps,
            width=width,
            height=height,
            appearances=tuple(Appearance(t, t + 2.0, "ball") for t in range(5, int(seconds) - 3, 10)),
            seed=7,
        )
        write_video(path, spec)
    return path


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):.3f} (min {min(values):.3f}, max {max(values):.3f}, n={len(values)})"
