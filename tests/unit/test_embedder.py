"""The real YOLO embedder on a tiny random model: shapes, batching invariance, decode prefetching."""

from pathlib import Path

import numpy as np
import pytest

from demo.synthetic import write_vfr_video
from demo.weights import build_random_weights
from functions.common.embedder import YoloEmbedder, center_crop_resize, prefetched
from functions.common.model_card import read_model_card

pytestmark = pytest.mark.unit


def test_prefetched_keeps_order_and_reraises():
    assert list(prefetched(iter(range(10)), depth=2)) == list(range(10))

    def broken():
        yield 1
        raise ValueError("decode failed")

    with pytest.raises(ValueError, match="decode failed"):
        list(prefetched(broken(), depth=2))


def test_center_crop_resize_keeps_the_middle_square():
    frame = np.zeros((120, 160, 3), np.uint8)
    frame[:, 20:140] = 255  # the central 120x120 square
    out = center_crop_resize(frame, 60)
    assert out.shape == (60, 60, 3) and out.min() == 255


@pytest.fixture(scope="module")
def embedder(tmp_path_factory: pytest.TempPathFactory) -> YoloEmbedder:
    weights = build_random_weights(tmp_path_factory.mktemp("w") / "rand.pt", imgsz=64)
    return YoloEmbedder(read_model_card(weights), batch_size=4, device="cpu")


def test_features_and_probabilities_per_frame_and_independent_of_batch_size(embedder, tmp_path: Path):
    # GIVEN a 2 s video at 10 fps, sampled at 15 fps (30 Label Studio frames)
    path = write_vfr_video(tmp_path / "v.mp4", [(20, 10.0)], marker_frames={3, 4})
    emb = embedder.embed_video(path, 15.0)
    # THEN one pooled 1280-d feature and one probability row per frame
    assert emb.features.shape == (30, 1280) and emb.probs.shape == (30, 1000)
    assert np.allclose(emb.probs.astype(np.float32).sum(axis=1), 1.0, atol=1e-2)
    assert emb.embedder_id == embedder.embedder_id and emb.embedder_id.endswith("-i64")
    # AND batching changes nothing: frame by frame gives the same numbers
    embedder._batch_size = 1
    single = embedder.embed_video(path, 15.0)
    embedder._batch_size = 4
    assert np.allclose(single.features.astype(np.float32), emb.features.astype(np.float32), atol=2e-2)
