"""A small real YOLO classifier ("ball" vs "background"), trained offline from generated images.

    python -m demo.weights --out .cache/weights/ball-cls.pt [--epochs 15] [--images 600] [--imgsz 64]
                           [--seed 0] [--force] [--random] [--verbose]

The images come from :func:`demo.synthetic.render_frame` at the demo video size (160×120), so the model
sees the same style it will meet on the generated videos. Ultralytics runs fully offline:
``YOLO_CONFIG_DIR`` and ``YOLO_OFFLINE=1`` are set before it is imported, training writes only into a
temporary directory (``project=<tmp>``, ``plots=False``), and nothing lands in the current directory.

Next to every weights file goes a sidecar ``<weights>.names.json``::

    {"names": ["background", "ball"], "imgsz": 64, "top1": 0.9}

(class names in index order, the input size the model was trained at, and its validation top-1 or null).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import cv2
import numpy as np

from demo.synthetic import render_frame
from functions.common.model_card import sidecar_path

if TYPE_CHECKING:
    from ultralytics.models.yolo.model import YOLO

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_OUT = REPO_ROOT / ".cache" / "weights" / "ball-cls.pt"
DEFAULT_CONFIG_DIR = REPO_ROOT / ".cache" / "ultralytics"
MODEL_YAML = "yolov8n-cls.yaml"
# The image-folder class names; Ultralytics sorts them, so index 0 is background and 1 is ball.
CLASS_NAMES = ("background", "ball")
IMAGE_SIZE = (160, 120)  # (width, height) of the generated training images: the demo video size
VAL_FRACTION = 0.2


def prepare_ultralytics_env(config_dir: Path | None = None) -> None:
    """Point Ultralytics at a private config dir and switch it offline. Must run before it is imported.

    Values the caller already set in the environment win. If ultralytics was already imported, it is too late
    to move its settings; a warning says so.
    """
    preset = "YOLO_CONFIG_DIR" in os.environ
    config_dir = Path(config_dir or os.environ.get("YOLO_CONFIG_DIR") or DEFAULT_CONFIG_DIR)
    config_dir.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("YOLO_CONFIG_DIR", str(config_dir))
    os.environ.setdefault("YOLO_OFFLINE", "1")
    if not preset and "ultralytics" in sys.modules:
        log.warning("ultralytics was imported before YOLO_CONFIG_DIR was set; settings may live elsewhere")


def _yolo() -> type[YOLO]:
    prepare_ultralytics_env()
    from ultralytics.models.yolo.model import YOLO

    return YOLO


def _atomic_write_bytes(dest: Path, write: Any) -> None:
    """Call ``write(tmp_path)``, then rename the temp file onto `dest` (same directory: atomic rename)."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    # A fresh name (not mkstemp, which would leave the file at mode 0600), created by `write` under the umask.
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        write(Path(tmp))
        os.replace(tmp, dest)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _write_json_atomic(dest: Path, payload: dict[str, Any]) -> None:
    _atomic_write_bytes(dest, lambda p: p.write_text(json.dumps(payload, indent=2) + "\n"))


def _names_list(names: Any) -> list[str]:
    if isinstance(names, dict):
        return [str(names[i]) for i in sorted(names)]
    return [str(n) for n in names]


def _ckpt_top1(ckpt: Any) -> float | None:
    metrics = ckpt.get("train_metrics") if isinstance(ckpt, dict) else None
    if isinstance(metrics, dict) and metrics.get("metrics/accuracy_top1") is not None:
        return float(metrics["metrics/accuracy_top1"])
    return None


def write_names_sidecar(weights: Path, *, top1: float | None = None) -> Path:
    """Load `weights` with Ultralytics and write ``<weights>.names.json``: class names, imgsz, top-1.

    `imgsz` is what the checkpoint's ``train_args`` carry (what ``YOLO(weights)`` will predict at by default),
    or 224 when they carry none. `top1` defaults to the validation top-1 stored in the checkpoint, else null.
    """
    weights = Path(weights)
    model = _yolo()(str(weights), task="classify")
    imgsz = model.overrides.get("imgsz") or 224
    if top1 is None:
        top1 = _ckpt_top1(model.ckpt)
    names = _names_list(model.names)
    payload = {
        "names": names,
        "imgsz": int(imgsz if isinstance(imgsz, int) else max(imgsz)),
        "top1": None if top1 is None else round(float(top1), 4),
    }
    dest = sidecar_path(weights)
    _write_json_atomic(dest, payload)
    log.info("wrote %s: %d classes, imgsz %s, top1 %s", dest, len(names), imgsz, payload["top1"])
    return dest


def build_random_weights(out: Path, imgsz: int = 224) -> Path:
    """Save an untrained ``yolov8n-cls.yaml`` model (1000 classes) at `out`, plus its sidecar.

    The checkpoint carries ``train_args`` with `imgsz`, so ``YOLO(out)`` predicts at that size by default
    (a bare saved YAML model would reload with imgsz=640). For tests that only need shapes.
    """
    out = Path(out)
    model = _yolo()(MODEL_YAML, task="classify")
    model.ckpt = {"train_args": {"imgsz": int(imgsz), "task": "classify"}}
    _atomic_write_bytes(out, lambda p: model.save(p))
    write_names_sidecar(out)
    return out


def make_dataset(root: Path, *, images: int, seed: int = 0, size: tuple[int, int] = IMAGE_SIZE) -> Path:
    """Write an image-folder dataset under `root`: ``{train,val}/{ball,background}/*.png``.

    `images` in total, half per class; `VAL_FRACTION` of each class goes to ``val``. Returns `root`.
    """
    if images < 4:
        raise ValueError("need at least 4 images (one per class and split)")
    rng = np.random.default_rng(seed)
    width, height = size
    per_class = images // 2
    n_val = max(1, round(per_class * VAL_FRACTION))
    for cls in CLASS_NAMES:
        kinds = ["ball"] if cls == "ball" else []
        for split in ("train", "val"):
            (root / split / cls).mkdir(parents=True, exist_ok=True)
        for j in range(per_class):
            split = "val" if j < n_val else "train"
            rgb = render_frame(rng, width, height, kinds)
            cv2.imwrite(str(root / split / cls / f"{cls}_{j:04d}.png"), cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    return root


def _set_threads_callback(threads: int) -> Any:
    def callback(_trainer: Any) -> None:
        import torch

        torch.set_num_threads(threads)

    return callback


def _epoch_log_callback(trainer: Any) -> None:
    metrics = getattr(trainer, "metrics", None) or {}
    top1 = float(metrics.get("metrics/accuracy_top1", float("nan")))
    if trainer.epoch >= trainer.epochs:  # Ultralytics' final validation of best.pt reports as epoch N+1
        log.info("final validation of the best weights: top1 %.3f", top1)
    else:
        log.info("epoch %d/%d: val top1 %.3f", trainer.epoch + 1, trainer.epochs, top1)


def build_weights(
    out: Path,
    *,
    epochs: int = 15,
    images: int = 600,
    imgsz: int = 64,
    seed: int = 0,
    force: bool = False,
    threads: int | None = None,
) -> Path:
    """Train ``yolov8n-cls.yaml`` from scratch on generated ball/background images; save `out` + sidecar.

    Skips the work when `out` and its sidecar already exist (unless `force`). Everything Ultralytics writes
    goes to a temporary directory; `out` and the sidecar are written atomically. `threads`: torch CPU threads
    while training (default: all cores; Ultralytics alone would use ``cpu_count - 1``).
    """
    out = Path(out)
    if not force and out.is_file() and sidecar_path(out).is_file():
        log.info("%s and its sidecar exist; skipping (use force=True / --force to rebuild)", out)
        return out
    YOLO = _yolo()
    threads = threads or os.cpu_count() or 1
    cwd_runs = Path.cwd() / "runs"
    runs_existed = cwd_runs.exists()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="ball-cls-") as tmp:
        tmpdir = Path(tmp)
        data = make_dataset(tmpdir / "data", images=images, seed=seed)
        log.info("dataset: %d images in %s (%.1f s)", images, data, time.perf_counter() - started)
        model = YOLO(MODEL_YAML, task="classify")
        model.add_callback("on_pretrain_routine_start", _set_threads_callback(threads))
        model.add_callback("on_fit_epoch_end", _epoch_log_callback)
        model.train(
            data=str(data),
            epochs=epochs,
            imgsz=imgsz,
            batch=32,
            workers=0,
            plots=False,
            device="cpu",
            project=str(tmpdir / "runs"),
            name="train",
            exist_ok=True,
            verbose=False,
            seed=seed,
        )
        trainer = model.trainer
        assert trainer is not None
        best, last = Path(trainer.best), Path(trainer.last)
        src = best if best.is_file() else last
        val_metrics = getattr(trainer.validator, "metrics", None)
        if val_metrics is not None:
            top1: float | None = float(val_metrics.top1)
        else:
            top1 = _ckpt_top1({"train_metrics": trainer.metrics})
        _atomic_write_bytes(out, lambda p: shutil.copyfile(src, p))
    if not runs_existed and cwd_runs.exists():
        raise RuntimeError(f"Ultralytics wrote into {cwd_runs}; it must only write into the temp dir")
    write_names_sidecar(out, top1=top1)
    log.info(
        "trained %s in %.1f s: %d epochs, %d images, imgsz %d, val top1 %s",
        out,
        time.perf_counter() - started,
        epochs,
        images,
        imgsz,
        top1,
    )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo.weights", description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="weights file to write (.pt)")
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--images", type=int, default=600, help="generated images in total (train + val)")
    parser.add_argument("--imgsz", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="rebuild even if the weights exist")
    parser.add_argument("--random", action="store_true", help="save an untrained 1000-class model (shape tests only)")
    parser.add_argument("--verbose", action="store_true", help="keep Ultralytics' own progress output")
    parser.add_argument("--sidecar", type=Path, help="only write <weights>.names.json beside existing weights")
    args = parser.parse_args(argv)
    if not args.verbose:
        os.environ.setdefault("YOLO_VERBOSE", "False")  # this process only; our own logging reports progress
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    if args.sidecar:
        log.info("wrote %s", write_names_sidecar(args.sidecar))
        return 0
    if args.random:
        out = build_random_weights(args.out, imgsz=args.imgsz)
    else:
        out = build_weights(
            args.out,
            epochs=args.epochs,
            images=args.images,
            imgsz=args.imgsz,
            seed=args.seed,
            force=args.force,
        )
    sidecar = json.loads(sidecar_path(out).read_text())
    log.info(
        "done in %.1f s: %s names=%s imgsz=%s top1=%s",
        time.perf_counter() - started,
        out,
        sidecar["names"],
        sidecar["imgsz"],
        sidecar["top1"],
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
