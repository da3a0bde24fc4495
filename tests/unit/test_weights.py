"""demo.weights: the offline builder writes reloadable weights, a correct sidecar, nothing else."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from demo.weights import build_random_weights, build_weights, sidecar_path, write_names_sidecar

pytestmark = pytest.mark.unit


def _yolo():
    from demo.weights import prepare_ultralytics_env

    prepare_ultralytics_env()
    from ultralytics import YOLO

    return YOLO


def test_sidecar_path_is_next_to_the_weights():
    # GIVEN / WHEN / THEN
    assert sidecar_path(Path("a/b/ball-cls.pt")) == Path("a/b/ball-cls.pt.names.json")


def test_build_random_weights_reloads_at_its_imgsz(tmp_path: Path):
    # GIVEN an untrained model saved for 96 px input
    out = build_random_weights(tmp_path / "w" / "random.pt", imgsz=96)

    # WHEN its sidecar is read and the file reloaded with Ultralytics
    sidecar = json.loads(sidecar_path(out).read_text())
    model = _yolo()(str(out))

    # THEN the sidecar lists the 1000 classes in index order, imgsz 96 and no top-1
    assert sidecar["imgsz"] == 96
    assert sidecar["top1"] is None
    assert len(sidecar["names"]) == 1000 and sidecar["names"][:2] == [model.names[0], model.names[1]]
    # AND the reloaded model predicts at 96 px by default (not the 640 a bare YAML model gets)
    assert model.overrides["imgsz"] == 96
    assert model.model.args["imgsz"] == 96
    # AND it runs on a video-sized frame, giving 1000 probabilities
    result = model.predict(np.zeros((120, 160, 3), np.uint8), verbose=False)[0]
    assert result.probs is not None and tuple(result.probs.data.shape) == (1000,)
    # AND no temporary files are left next to it
    assert sorted(p.name for p in out.parent.iterdir()) == ["random.pt", "random.pt.names.json"]


def test_write_names_sidecar_rewrites_from_the_weights(tmp_path: Path):
    # GIVEN weights whose sidecar is missing
    out = build_random_weights(tmp_path / "random.pt", imgsz=64)
    sidecar_path(out).unlink()

    # WHEN the sidecar is written from the weights alone
    written = write_names_sidecar(out)

    # THEN it is back with the checkpoint's imgsz
    assert written == sidecar_path(out)
    assert json.loads(written.read_text())["imgsz"] == 64


def test_build_weights_tiny_run_offline_and_idempotent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # GIVEN an empty working directory (Ultralytics would put runs/ there)
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "weights" / "ball-cls.pt"

    # WHEN a 1-epoch model is trained on 40 generated 32 px images
    build_weights(out, epochs=1, images=40, imgsz=32, seed=0)

    # THEN weights and sidecar exist, with the two classes in index order and the training imgsz
    sidecar = json.loads(sidecar_path(out).read_text())
    assert sidecar["names"] == ["background", "ball"]
    assert sidecar["imgsz"] == 32
    assert 0.0 <= sidecar["top1"] <= 1.0
    # AND the weights reload at imgsz 32 with the same class names
    model = _yolo()(str(out))
    assert model.overrides["imgsz"] == 32
    assert model.names == {0: "background", 1: "ball"}
    # AND nothing was written into the working directory but the output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["weights"]
    assert sorted(p.name for p in out.parent.iterdir()) == ["ball-cls.pt", "ball-cls.pt.names.json"]

    # WHEN it is asked for again
    mtime = out.stat().st_mtime_ns
    again = build_weights(out, epochs=1, images=40, imgsz=32, seed=0)

    # THEN the existing file is kept as is
    assert again == out and out.stat().st_mtime_ns == mtime
