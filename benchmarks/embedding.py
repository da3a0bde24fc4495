"""Embedding throughput: frames/s of decode + preprocess + YOLO forward, batch 1 vs batched.

    python -m benchmarks.embedding [--weights PATH] [--batches 1,8,32,64] [--seconds 60]

Uses yolov8n-cls built from Ultralytics' YAML (random weights: the cost of a forward pass does not
depend on the weight values) at 224 px unless --weights is given. Runs on GPU when there is one.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

from benchmarks.common import long_video, say


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--weights", type=Path, default=None)
    parser.add_argument("--batches", default="1,32")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    os.environ.setdefault("YOLO_OFFLINE", "1")
    from functions.common.embedder import YoloEmbedder
    from functions.common.model_card import read_model_card
    from functions.common.video import iter_frames, probe

    weights = args.weights
    if weights is None:
        from demo.weights import build_random_weights

        weights = Path(tempfile.mkdtemp()) / "yolov8n-cls-random.pt"
        build_random_weights(weights, imgsz=224)
    video = long_video(args.seconds)
    info = probe(video, 25.0)
    say(f"video {video.name}: {info.num_frames} Label Studio frames at 25 fps; weights {weights.name}")
    card = read_model_card(weights)
    t = time.perf_counter()
    decoded = sum(1 for _ in iter_frames(video, 25.0))
    say(f"decode only: {decoded / (time.perf_counter() - t):.0f} frames/s")
    results = {}
    for batch in [int(b) for b in args.batches.split(",")]:
        embedder = YoloEmbedder(card, batch_size=batch, device=args.device)
        embedder.embed_video(long_video(2.0), 25.0)  # warm-up: allocator, kernels
        rates = []
        for _ in range(args.repeats):
            t = time.perf_counter()
            emb = embedder.embed_video(video, 25.0)
            rates.append(emb.num_frames / (time.perf_counter() - t))
        results[batch] = max(rates)
        say(
            f"batch {batch:>3} on {embedder.device}: {max(rates):7.1f} frames/s (best of {args.repeats}: {', '.join(f'{r:.1f}' for r in rates)})"
        )
    if 1 in results and len(results) > 1:
        best = max(results, key=lambda b: results[b])
        say(f"batch {best} vs batch 1: {results[best] / results[1]:.2f}x")


if __name__ == "__main__":
    main()
