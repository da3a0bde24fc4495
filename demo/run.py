"""``make demo``: the backend on the embedded local stack, driven only through its HTTP API, as
Label Studio drives it.

1. Simple mode: synthetic videos with a ball in known frames; /setup, then /predict with the small
   offline-trained YOLO classifier; a table of regions and frame F1 against the ground truth.
2. Trainable mode: a label no pretrained classifier has ("square"). Task after task: predict it
   (unseen), submit its ground-truth annotation through /webhook as Label Studio would, let the
   training job run; print the version and F1 per task and plot F1 against annotated tasks.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from demo.synthetic import Appearance, VideoSpec, truth_frames, write_video
from functions.common.ls_models import TimelineValue
from functions.common.timeline import frame_f1, matrix_to_values, regions_to_matrix

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / ".cache" / "demo"
FRAME_RATE = 25.0

SIMPLE_CONFIG = f"""<View>
  <Video name="video" value="$video" frameRate="{FRAME_RATE:g}"/>
  <TimelineLabels name="videoLabels" toName="video">
    <Label value="ball" background="#1f77b4"/>
  </TimelineLabels>
</View>"""

TRAINABLE_CONFIG = f"""<View>
  <Video name="video" value="$video" frameRate="{FRAME_RATE:g}"/>
  <TimelineLabels name="events" toName="video" model_trainable="true"
                  model_classifier_epochs="80" model_classifier_sequence_size="16"
                  model_classifier_hidden_size="32" model_classifier_num_layers="1">
    <Label value="square" background="#d62728"/>
  </TimelineLabels>
</View>"""


def say(text: str = "") -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


@dataclass
class DemoTask:
    task_id: int
    spec: VideoSpec
    url: str


def _ranges(mask: np.ndarray) -> str:
    values = matrix_to_values(mask[:, None].astype(np.uint8), ["x"])
    return ", ".join(f"{v.ranges[0].start}-{v.ranges[0].end}" for v in values) or "-"


def _predicted_mask(result: list[dict[str, Any]], label: str, frames: int) -> np.ndarray:
    values = [TimelineValue.model_validate(r["value"]) for r in result]
    return regions_to_matrix(values, [label], frames)[:, 0] > 0


def make_tasks(
    workdir: Path, stack: Any, count: int, kind: str, seed: int, first_id: int, *, distractor: str = ""
) -> list[DemoTask]:
    """Videos of 6-10 s (real fps 24-30, unlike the config's 25) uploaded to the local S3."""
    import boto3

    rng = np.random.default_rng(seed)
    s3 = boto3.client("s3")
    tasks = []
    for i in range(count):
        seconds = float(rng.integers(6, 11))
        fps = float(rng.choice([24.0, 25.0, 30.0]))
        n = int(rng.integers(1, 3))
        slots = np.sort(rng.choice(np.arange(0.5, seconds - 2.0, 2.2), size=n, replace=False))
        appearances = [Appearance(float(s), float(s + rng.uniform(0.6, 1.6)), kind) for s in slots]
        if distractor:
            gaps = [
                t
                for t in np.arange(0.3, seconds - 1.0, 0.5)
                if all(not (a.start_s - 1 <= t <= a.end_s) for a in appearances)
            ]
            if gaps:
                t = float(rng.choice(gaps))
                appearances.append(Appearance(t, t + 0.8, distractor))
        spec = VideoSpec(
            seconds=seconds,
            fps=fps,
            appearances=tuple(sorted(appearances, key=lambda a: a.start_s)),
            seed=seed * 1000 + i,
        )
        path = write_video(workdir / f"{kind}-{seed}-{i}.mp4", spec)
        key = f"uploads/{path.name}"
        s3.upload_file(str(path), stack.settings.bucket_name, key)
        tasks.append(DemoTask(first_id + i, spec, f"s3://{stack.settings.bucket_name}/{key}"))
    return tasks


def run_simple(client: httpx.Client, stack: Any, workdir: Path, count: int) -> list[float]:
    say("\n== 1. Simple mode: an off-the-shelf classifier labels every frame ==")
    tasks = make_tasks(workdir, stack, count, "ball", seed=1, first_id=1)
    setup = client.post(
        "/setup", json={"project": "1.1795616412", "schema": SIMPLE_CONFIG, "hostname": "", "access_token": ""}
    )
    setup.raise_for_status()
    say(f"/setup -> model_version {setup.json()['model_version']}")
    say(f"{'task':>4} {'video':>14} {'frames':>6}  {'predicted ranges':<28} {'true ranges':<28} {'F1':>5} {'s':>5}")
    scores = []
    for task in tasks:
        started = time.perf_counter()
        body = {
            "tasks": [{"id": task.task_id, "data": {"video": task.url}}],
            "project": "1.1795616412",
            "label_config": SIMPLE_CONFIG,
        }
        resp = client.post("/predict", json=body)
        resp.raise_for_status()
        (prediction,) = resp.json()["results"]
        truth = truth_frames(task.spec, FRAME_RATE, "ball")
        pred = _predicted_mask(prediction["result"], "ball", len(truth))
        scores.append(frame_f1(pred, truth))
        video = f"{task.spec.seconds:g}s@{task.spec.fps:g}fps"
        say(
            f"{task.task_id:>4} {video:>14} {len(truth):>6}  {_ranges(pred):<28} {_ranges(truth):<28} {scores[-1]:>5.2f} {time.perf_counter() - started:>5.1f}"
        )
    say(f"mean frame F1 {np.mean(scores):.3f} over {len(scores)} tasks")
    return scores


def _annotation_event(task: DemoTask, annotation_id: int) -> dict[str, Any]:
    truth = truth_frames(task.spec, FRAME_RATE, "square")
    result = [
        {
            "id": f"gt{j}",
            "type": "timelinelabels",
            "from_name": "events",
            "to_name": "video",
            "origin": "manual",
            "value": v.model_dump(),
        }
        for j, v in enumerate(matrix_to_values(truth[:, None].astype(np.uint8), ["square"]))
    ]
    now = time.strftime("%Y-%m-%dT%H:%M:%S.000000Z", time.gmtime())
    return {
        "action": "ANNOTATION_CREATED",
        "annotation": {
            "id": annotation_id,
            "task": task.task_id,
            "project": 2,
            "result": result,
            "was_cancelled": False,
            "updated_at": now,
        },
        "task": {"id": task.task_id, "project": 2, "data": {"video": task.url}},
        "project": {"id": 2, "label_config": TRAINABLE_CONFIG},
    }


def run_trainable(client: httpx.Client, stack: Any, workdir: Path, count: int) -> list[dict[str, Any]]:
    say("\n== 2. Trainable mode: a custom label ('square'), learned from annotations as they arrive ==")
    say("The ball classifier has no 'square' class; balls also appear, as distractors.")
    tasks = make_tasks(workdir, stack, count, "square", seed=2, first_id=101, distractor="ball")
    project = "2.1795616412"
    say(
        f"{'task':>4} {'annotated':>9}  {'model_version':<24} {'predicted ranges':<24} {'true ranges':<24} {'F1':>5} {'train s':>7}"
    )
    rows = []
    for n, task in enumerate(tasks):
        setup = client.post("/setup", json={"project": project, "schema": TRAINABLE_CONFIG}).json()
        body = {
            "tasks": [{"id": task.task_id, "data": {"video": task.url}}],
            "project": project,
            "label_config": TRAINABLE_CONFIG,
        }
        (prediction,) = client.post("/predict", json=body).json()["results"]
        assert prediction["model_version"] == setup["model_version"]
        truth = truth_frames(task.spec, FRAME_RATE, "square")
        pred = _predicted_mask(prediction["result"], "square", len(truth))
        trained = not prediction["model_version"].endswith("untrained")
        f1 = frame_f1(pred, truth) if trained else float("nan")
        # The annotator corrects the prediction and submits: Label Studio posts the webhook.
        started = time.perf_counter()
        hook = client.post("/webhook", json=_annotation_event(task, 1000 + n))
        hook.raise_for_status()
        stack.wait_for_training(timeout=600)
        train_s = time.perf_counter() - started
        rows.append(
            {
                "task": task.task_id,
                "annotated_before": n,
                "model_version": prediction["model_version"],
                "f1": f1,
                "train_s": train_s,
            }
        )
        f1_text = f"{f1:>5.2f}" if trained else "    -"
        say(
            f"{task.task_id:>4} {n:>9}  {prediction['model_version']:<24} {_ranges(pred):<24} {_ranges(truth):<24} {f1_text} {train_s:>7.1f}"
        )
    scored = [r for r in rows if not np.isnan(r["f1"])]
    if scored:
        say(
            f"first prediction after {scored[0]['annotated_before']} annotated tasks; "
            f"mean F1 on the last 5 unseen tasks {np.mean([r['f1'] for r in scored[-5:]]):.3f}"
        )
    versions = client.get("/versions").json()
    say(f"/versions: {', '.join(versions['versions'])}")
    say("\ntraining jobs (CPU here; see README for GPU):")
    say(f"{'version':>7} {'tasks':>5} {'held out':>8} {'epochs':>6} {'fit s':>6} {'ms/epoch':>8} {'held-out F1':>11}")
    for d in versions["details"]:
        m = d["metrics"]
        per_epoch = 1000 * m["fit_seconds"] / max(1, m["epochs_run"])
        heldout = f"{m['heldout_f1']:.3f}" if "heldout_f1" in m else "-"
        tasks = m["train_tasks"] + m["heldout_tasks"]
        say(
            f"{d['version']:>7} {tasks:>5} {m['heldout_tasks']:>8} {m['epochs_run']:>6} {m['fit_seconds']:>6.1f} {per_epoch:>8.0f} {heldout:>11}"
        )
    return rows


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    xs = [r["annotated_before"] for r in rows]
    ys = [0.0 if np.isnan(r["f1"]) else r["f1"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.plot(xs, ys, marker="o")
    ax.set_xlabel("annotated tasks before this one")
    ax.set_ylabel("frame F1 on the next (unseen) task")
    ax.set_ylim(0, 1.05)
    ax.set_title("Trainable mode: F1 as annotations arrive (0 = no model yet)")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["simple", "trainable", "all"], default="all")
    parser.add_argument("--simple-tasks", type=int, default=6)
    parser.add_argument("--trainable-tasks", type=int, default=20)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    from devstack.stack import DevStack

    say("Starting the local stack (moto S3/SQS/Batch, the ML backend under uvicorn, a local job runner)...")
    started = time.perf_counter()
    with (
        DevStack() as stack,
        tempfile.TemporaryDirectory() as tmp,
        httpx.Client(base_url=stack.url, timeout=120) as client,
    ):
        say(f"ML backend at {stack.url}; /health -> {client.get('/health').json()}")
        summary: dict[str, Any] = {}
        if args.part in ("simple", "all"):
            summary["simple_f1"] = run_simple(client, stack, Path(tmp), args.simple_tasks)
        if args.part in ("trainable", "all"):
            rows = run_trainable(client, stack, Path(tmp), args.trainable_tasks)
            summary["trainable"] = rows
            plot(rows, OUT / "f1_vs_tasks.png")
            say(f"plot: {OUT / 'f1_vs_tasks.png'}")
        OUT.mkdir(parents=True, exist_ok=True)
        (OUT / "summary.json").write_text(json.dumps(summary, indent=1, default=float))
    say(f"\ndemo finished in {time.perf_counter() - started:.0f}s; figures in {OUT / 'summary.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
