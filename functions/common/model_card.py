"""What we know about the YOLO weights without importing torch: identity, input size, class names.

The identity (file stem + content hash + input size) keys the embedding cache and names simple-mode
model versions, so /setup can answer it in milliseconds. Class names and input size come from the
``<weights>.names.json`` sidecar written next to the weights (``python -m demo.weights`` or
``write_names_sidecar``); without it the class check happens at the first /predict instead.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

DEFAULT_IMGSZ = 224


def sidecar_path(weights: Path | str) -> Path:
    return Path(f"{weights}.names.json")


def file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class ModelCard:
    weights: Path
    sha256: str
    imgsz: int
    class_names: tuple[str, ...] | None

    @property
    def embedder_id(self) -> str:
        return f"{self.weights.stem}-{self.sha256[:12]}-i{self.imgsz}"

    @property
    def short_id(self) -> str:
        return f"{self.weights.stem}-{self.sha256[:8]}"


def read_model_card(weights: Path, imgsz: int = 0) -> ModelCard:
    """``imgsz`` 0 means: the sidecar's training size, else 224 (Ultralytics' classifier default;
    a model saved from YAML would otherwise reload at 640 and cost ~8x per frame)."""
    side = sidecar_path(weights)
    data = json.loads(side.read_text()) if side.is_file() else {}
    names = data.get("names")
    return ModelCard(
        weights=weights,
        sha256=file_digest(weights),
        imgsz=imgsz or int(data.get("imgsz") or DEFAULT_IMGSZ),
        class_names=tuple(str(n) for n in names) if names else None,
    )
