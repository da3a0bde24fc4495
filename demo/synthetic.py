"""Generated demo/test videos with exact ground truth (nothing is committed: everything is made in code).

Two kinds of object can appear on a low-contrast, per-frame-varying textured background:

- ``"ball"``: a filled disc in a bright saturated colour (green, blue, yellow, cyan, magenta or orange;
  never red);
- ``"square"``: a filled red square.

Objects are always drawn inside the central ``min(width, height)`` square of the frame, so they survive
the shortest-side resize + centre crop that Ultralytics' classification transforms apply before
inference. The same :func:`render_frame` draws the video frames and the images the demo classifier is
trained on (:mod:`demo.weights`), so a model trained on those images works on the video frames.

Time conventions (the contract the tests check):

- file frame ``i`` (0-based) of a constant-rate file is shown at ``i / fps`` seconds;
- Label Studio frame ``k`` (1-based) is the picture shown at ``(k - 1) / frame_rate`` seconds, i.e. the
  last file frame whose timestamp is ``<=`` that time.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

log = logging.getLogger(__name__)

KINDS = ("ball", "square")

# Bright, saturated RGB colours for the ball; red is kept for the square, so the kinds differ in colour.
_BALL_COLOURS: tuple[tuple[int, int, int], ...] = (
    (40, 220, 60),  # green
    (40, 110, 255),  # blue
    (255, 220, 30),  # yellow
    (30, 220, 230),  # cyan
    (230, 50, 230),  # magenta
    (255, 140, 20),  # orange
)
_SQUARE_COLOUR = (225, 30, 30)

# Tolerance, in frame units, for comparisons of float times against frame grids (1e-6 of a frame).
_EPS = 1e-6


@dataclass(frozen=True)
class Appearance:
    start_s: float  # object visible from this time (inclusive), seconds
    end_s: float  # until this time (exclusive), seconds
    kind: str  # "ball" (a filled coloured disc) or "square" (a filled red square)


@dataclass(frozen=True)
class VideoSpec:
    seconds: float
    fps: float  # the FILE's real frame rate
    width: int = 160
    height: int = 120
    appearances: tuple[Appearance, ...] = ()
    seed: int = 0

    @property
    def n_frames(self) -> int:
        """Number of frames in the file: ``round(seconds * fps)``."""
        return round(self.seconds * self.fps)


# --------------------------------------------------------------------------------------------------- drawing


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"unknown object kind {kind!r}; expected one of {KINDS}")


def _background(rng: np.random.Generator, width: int, height: int) -> npt.NDArray[np.float32]:
    """Low-contrast textured background (float32, H×W×3): grey-ish base, slight tint, smooth blobs."""
    base = rng.uniform(55.0, 150.0)
    tint = rng.uniform(-12.0, 12.0, size=3)
    gh, gw = int(rng.integers(3, 8)), int(rng.integers(3, 8))
    coarse = rng.normal(0.0, 1.0, size=(gh, gw, 3)).astype(np.float32)
    texture = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    amplitude = rng.uniform(6.0, 14.0)
    img = base + tint[None, None, :] + amplitude * texture
    return img.astype(np.float32)


def _jitter(rng: np.random.Generator, colour: tuple[int, int, int], amount: int = 15) -> tuple[int, int, int]:
    c = np.clip(np.asarray(colour) + rng.integers(-amount, amount + 1, size=3), 0, 255)
    return (int(c[0]), int(c[1]), int(c[2]))


def _centre_box(width: int, height: int) -> tuple[float, float, float]:
    """(x0, y0, side) of the central square of the frame, where objects are placed."""
    side = float(min(width, height))
    return (width - side) / 2.0, (height - side) / 2.0, side


def _draw_ball(rng: np.random.Generator, img: npt.NDArray[np.uint8]) -> None:
    height, width = img.shape[:2]
    x0, y0, side = _centre_box(width, height)
    radius = rng.uniform(0.12, 0.25) * side
    cx = rng.uniform(x0 + radius, x0 + side - radius)
    cy = rng.uniform(y0 + radius, y0 + side - radius)
    colour = _jitter(rng, _BALL_COLOURS[int(rng.integers(len(_BALL_COLOURS)))])
    shift = 4  # sub-pixel precision for the anti-aliased outline
    cv2.circle(
        img,
        (round(cx * (1 << shift)), round(cy * (1 << shift))),
        round(radius * (1 << shift)),
        colour,
        thickness=-1,
        lineType=cv2.LINE_AA,
        shift=shift,
    )


def _draw_square(rng: np.random.Generator, img: npt.NDArray[np.uint8]) -> None:
    height, width = img.shape[:2]
    x0, y0, side = _centre_box(width, height)
    size = rng.uniform(0.25, 0.45) * side
    left = rng.uniform(x0, x0 + side - size)
    top = rng.uniform(y0, y0 + side - size)
    colour = _jitter(rng, _SQUARE_COLOUR, amount=10)
    p1 = (round(left), round(top))
    p2 = (round(left + size) - 1, round(top + size) - 1)
    cv2.rectangle(img, p1, p2, colour, thickness=-1)


def render_frame(rng: np.random.Generator, width: int, height: int, kinds: Iterable[str]) -> npt.NDArray[np.uint8]:
    """One RGB uint8 (H, W, 3) frame: a noisy/textured background, plus each object in `kinds`.

    Every object is drawn at a random position (inside the central ``min(width, height)`` square) and a
    random size (ball radius 12–25 %, square side 25–45 % of that square's side). Per-pixel sensor-like
    noise is added on top of everything. The result depends only on the state of `rng`.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"bad frame size {width}x{height}")
    kinds = list(kinds)
    for kind in kinds:
        _check_kind(kind)
    img = np.clip(_background(rng, width, height), 0, 255).astype(np.uint8)
    # Squares first, so a ball on top of a square stays a full disc.
    for kind in sorted(kinds, key=lambda k: k != "square"):
        if kind == "square":
            _draw_square(rng, img)
        else:
            _draw_ball(rng, img)
    noise = rng.normal(0.0, rng.uniform(3.0, 8.0), size=img.shape)
    return np.clip(img.astype(np.float32) + noise, 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------------------------------- timing


def _covers(appearance: Appearance, index: int, fps: float) -> bool:
    """Whether file frame `index` (shown at index/fps) lies in [start_s, end_s), robust to float rounding."""
    return appearance.start_s * fps - _EPS <= index < appearance.end_s * fps - _EPS


def _kinds_at(spec: VideoSpec, index: int) -> list[str]:
    return [a.kind for a in spec.appearances if _covers(a, index, spec.fps)]


def truth_frames(spec: VideoSpec, frame_rate: float, kind: str) -> npt.NDArray[np.bool_]:
    """Boolean array, one entry per Label Studio frame.

    LS frame k (1-based, entry ``k - 1``) is the picture shown at ``t = (k - 1) / frame_rate``; it is True
    when the FILE frame shown at that time (the last file frame with ``i / fps <= t``) contains `kind`.
    Past the end of the file the last file frame stays shown. Length = ``round(spec.seconds * frame_rate)``.
    """
    _check_kind(kind)
    if frame_rate <= 0:
        raise ValueError(f"frame_rate must be positive, got {frame_rate}")
    n_ls = round(spec.seconds * frame_rate)
    n_file = spec.n_frames
    out = np.zeros(n_ls, dtype=bool)
    relevant = [a for a in spec.appearances if a.kind == kind]
    for k in range(n_ls):
        index = min(math.floor(k * spec.fps / frame_rate + _EPS), max(n_file - 1, 0))
        out[k] = any(_covers(a, index, spec.fps) for a in relevant)
    return out


def random_spec(
    rng: np.random.Generator,
    *,
    seconds: float,
    fps: float,
    kind: str,
    n_appearances: int = 2,
    min_len_s: float = 0.5,
    max_len_s: float = 2.0,
    seed: int,
) -> VideoSpec:
    """A spec with `n_appearances` non-overlapping appearances of `kind`, separated by gaps of at least 0.5 s.

    Lengths are drawn uniformly from [min_len_s, max_len_s]; the remaining time is split at random between
    the lead-in, the (≥ 0.5 s) gaps and the tail. All times are multiples of 10 ms. `seed` is the rendering
    seed of the returned spec; `rng` only chooses the appearances.
    """
    _check_kind(kind)
    if n_appearances < 0 or min_len_s <= 0 or max_len_s < min_len_s:
        raise ValueError("need n_appearances >= 0 and 0 < min_len_s <= max_len_s")
    cs = 100  # work in integer centiseconds
    total = math.floor(seconds * cs + 1e-9)
    lo, hi = math.ceil(min_len_s * cs - 1e-9), math.floor(max_len_s * cs + 1e-9)
    min_gap = 50
    needed = n_appearances * lo + max(n_appearances - 1, 0) * min_gap
    if needed > total:
        raise ValueError(f"{n_appearances} appearances of >= {min_len_s} s with 0.5 s gaps do not fit in {seconds} s")
    appearances: list[Appearance] = []
    if n_appearances:
        lengths = rng.integers(lo, hi + 1, size=n_appearances)
        budget = total - max(n_appearances - 1, 0) * min_gap
        while int(lengths.sum()) > budget:  # shrink the longest until they fit (terminates: lo*n <= budget)
            j = int(np.argmax(lengths))
            lengths[j] = max(lo, int(lengths[j]) - (int(lengths.sum()) - budget))
        slack = budget - int(lengths.sum())
        # Split the slack into n+1 parts: lead-in, extra gap after each appearance but the last, tail.
        cuts = np.sort(rng.integers(0, slack + 1, size=n_appearances))
        parts = np.diff(np.concatenate([[0], cuts, [slack]]))
        t = int(parts[0])
        for j in range(n_appearances):
            start, end = t, t + int(lengths[j])
            appearances.append(Appearance(start / cs, end / cs, kind))
            t = end + min_gap + int(parts[j + 1])
    return VideoSpec(seconds=seconds, fps=fps, appearances=tuple(appearances), seed=seed)


# --------------------------------------------------------------------------------------------------- encoding


def _rate(fps: float) -> Fraction:
    if not fps > 0:
        raise ValueError(f"fps must be positive, got {fps}")
    return Fraction(fps).limit_denominator(1001)


def _time_base(rates: Iterable[Fraction], codec: str) -> Fraction:
    """A time base in which every frame duration 1/rate is a whole number of ticks (so pts are exact)."""
    lcm = 1
    for r in rates:
        lcm = math.lcm(lcm, r.numerator)
    if codec == "libx264" and 90000 % lcm == 0:
        return Fraction(1, 90000)  # the usual fine video clock
    return Fraction(1, lcm)


def _codec() -> str:
    return "libx264" if "libx264" in av.codecs_available else "mpeg4"


def _encode(
    path: Path,
    width: int,
    height: int,
    rates: list[Fraction],
    frames: Iterable[tuple[Fraction, npt.NDArray[np.uint8]]],
) -> Path:
    """Encode (time_s, rgb frame) pairs into an MP4 at `path`, with pts set exactly from the times."""
    if width % 2 or height % 2:
        raise ValueError(f"width and height must be even for yuv420p, got {width}x{height}")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    codec = _codec()
    time_base = _time_base(rates, codec)
    with av.open(str(path), mode="w", format="mp4") as container:
        options = {"crf": "18", "preset": "veryfast", "bf": "0"} if codec == "libx264" else {}
        # No B-frames: decode order == presentation order, and no edit-list start offset in the MP4.
        stream = container.add_stream(codec, rate=rates[0], options=options)
        assert isinstance(stream, av.VideoStream)
        stream.width = width
        stream.height = height
        stream.pix_fmt = "yuv420p"
        stream.time_base = time_base
        stream.codec_context.time_base = time_base
        if codec != "libx264":
            log.warning("libx264 not available in this PyAV build; writing %s with mpeg4", path)
            stream.codec_context.bit_rate = 2_000_000
        for t, rgb in frames:
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
            ticks = t / time_base
            if ticks.denominator != 1:
                raise AssertionError(f"time {t} is not a whole number of ticks of {time_base}")
            frame.pts = int(ticks)
            frame.time_base = time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def write_video(path: Path, spec: VideoSpec) -> Path:
    """Encode `spec` as a constant-rate MP4 (H.264 yuv420p via PyAV; mpeg4 if libx264 is unavailable).

    Frame i (0-based) is shown at exactly ``i / fps`` s and shows the objects whose appearance interval
    contains ``i / fps``. Deterministic for a given spec (the frames come from ``default_rng(spec.seed)``).
    """
    rate = _rate(spec.fps)
    rng = np.random.default_rng(spec.seed)
    for a in spec.appearances:
        _check_kind(a.kind)

    def frames() -> Iterable[tuple[Fraction, npt.NDArray[np.uint8]]]:
        for i in range(spec.n_frames):
            yield Fraction(i) / rate, render_frame(rng, spec.width, spec.height, _kinds_at(spec, i))

    out = _encode(path, spec.width, spec.height, [rate], frames())
    log.debug("wrote %s: %d frames at %s fps", out, spec.n_frames, spec.fps)
    return out


def write_vfr_video(
    path: Path,
    segments: list[tuple[int, float]],
    width: int = 160,
    height: int = 120,
    marker_frames: set[int] | frozenset[int] = frozenset(),
) -> Path:
    """Variable-frame-rate MP4: `segments` of (n_frames, fps), e.g. ``[(30, 30.0), (30, 10.0)]``.

    Frame j of a segment is shown at (start of the segment) + j / fps, where a segment starts when the
    previous one's last frame duration ends. File frames whose 0-based index is in `marker_frames` are
    bright white, all others dark grey. Timestamps are exact (pts in a time base dividing every duration).
    """
    rates = [_rate(fps) for _, fps in segments]
    if not segments or any(n < 0 for n, _ in segments):
        raise ValueError("segments must be a non-empty list of (n_frames >= 0, fps)")
    white = np.full((height, width, 3), 255, dtype=np.uint8)
    dark = np.full((height, width, 3), 24, dtype=np.uint8)

    def frames() -> Iterable[tuple[Fraction, npt.NDArray[np.uint8]]]:
        start = Fraction(0)
        index = 0
        for (n, _), rate in zip(segments, rates, strict=True):
            for j in range(n):
                yield start + Fraction(j) / rate, (white if index in marker_frames else dark)
                index += 1
            start += Fraction(n) / rate

    return _encode(path, width, height, rates, frames())


def vfr_times(segments: list[tuple[int, float]]) -> list[float]:
    """The presentation time (s) of every file frame that :func:`write_vfr_video` writes for `segments`."""
    times: list[float] = []
    start = Fraction(0)
    for n, fps in segments:
        rate = _rate(fps)
        times.extend(float(start + Fraction(j) / rate) for j in range(n))
        start += Fraction(n) / rate
    return times
