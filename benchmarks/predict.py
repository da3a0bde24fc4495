"""Latency of the HTTP API on the local stack (one run; compare ratios, not absolute seconds).

    python -m benchmarks.predict [--seconds 60] [--webhooks 200]

- cold import of the app module (what a Lambda cold start pays before /health can answer)
- /health and /setup latency
- cold vs warm /predict of one 60 s video (cold: download from S3, decode, embed, cache; warm: S3 cache)
- /webhook latency p50/p99 (annotation stored in S3 + training request on SQS)
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

import boto3
import httpx

from benchmarks.common import ROOT, long_video, say, summary

SIMPLE = (
    '<View><Video name="video" value="$video" frameRate="25"/>'
    '<TimelineLabels name="videoLabels" toName="video"><Label value="ball"/></TimelineLabels></View>'
)
TRAINABLE = SIMPLE.replace('toName="video">', 'toName="video" model_trainable="true">')


def import_times(n: int = 5) -> list[float]:
    code = "import time; t=time.perf_counter(); import functions.predict.handler; print(time.perf_counter()-t)"
    env = {**os.environ, "BUCKET_NAME": "import-check"}
    return [
        float(
            subprocess.run(
                [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(n)
    ]


def timed(fn, n: int) -> list[float]:
    out = []
    for i in range(n):
        t = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - t)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--webhooks", type=int, default=200)
    parser.add_argument("--skip-predict", action="store_true")
    args = parser.parse_args()
    say(f"cold import of functions.predict.handler (s): {summary(import_times())}")
    code = "import functions.predict.handler, sys; print(sorted(m for m in ('torch','ultralytics','cv2') if m in sys.modules))"
    loaded = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "BUCKET_NAME": "x-bucket"},
        cwd=ROOT,
        capture_output=True,
        text=True,
    ).stdout.strip()
    say(f"heavy modules imported by the app module: {loaded}")

    from devstack.stack import DevStack

    os.environ.setdefault("LOG_LEVEL", "WARNING")
    with DevStack() as stack, httpx.Client(base_url=stack.url, timeout=300) as client:
        say(f"GET /health (s): {summary(timed(lambda _: client.get('/health').raise_for_status(), 50))}")
        setup = {"project": "1.1", "schema": SIMPLE}
        client.post("/setup", json=setup).raise_for_status()
        say(
            f"POST /setup warm (s): {summary(timed(lambda _: client.post('/setup', json=setup).raise_for_status(), 50))}"
        )
        if not args.skip_predict:
            video = long_video(args.seconds)
            s3 = boto3.client("s3")
            s3.upload_file(str(video), stack.settings.bucket_name, "bench/video.mp4")
            body = {
                "tasks": [{"id": 1, "data": {"video": f"s3://{stack.settings.bucket_name}/bench/video.mp4"}}],
                "project": "1.1",
                "label_config": SIMPLE,
            }
            t = time.perf_counter()
            client.post("/predict", json=body).raise_for_status()
            cold = time.perf_counter() - t
            warm = timed(lambda _: client.post("/predict", json=body).raise_for_status(), 5)
            say(
                f"/predict {args.seconds:g} s video, cold (first call: model load + download + decode + embed): {cold:.2f} s"
            )
            say(
                f"/predict same video, warm (S3 cache): {summary(warm)}; cold/warm = {cold / statistics.median(warm):.0f}x"
            )
            counters = client.get("/metrics").json()["counters"]
            say(f"counters: {counters}")

        def hook(i: int) -> None:
            event = {
                "action": "ANNOTATION_CREATED",
                "annotation": {
                    "id": 10_000 + i,
                    "task": 1,
                    "project": 9,
                    "updated_at": str(i),
                    "result": [
                        {
                            "type": "timelinelabels",
                            "from_name": "videoLabels",
                            "to_name": "video",
                            "value": {"ranges": [{"start": 5, "end": 20}], "timelinelabels": ["ball"]},
                        }
                    ],
                },
                "task": {"id": 1, "project": 9, "data": {"video": "s3://bucket/video.mp4"}},
                "project": {"id": 9, "label_config": TRAINABLE},
            }
            client.post("/webhook", json=event).raise_for_status()

        # The request path only: stop the local queue poller so no training job competes for the CPU.
        stack.poller.stop()
        lat = sorted(timed(hook, args.webhooks))
        p50 = statistics.median(lat)
        p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))]
        say(f"/webhook x{len(lat)}: p50 {p50 * 1000:.1f} ms, p99 {p99 * 1000:.1f} ms, max {lat[-1] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
