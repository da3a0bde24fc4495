"""Trainable mode through the real entry points: webhook (Mangum) -> S3 record + SQS -> submitter
Lambda -> AWS Batch (moto) -> job entrypoint -> versioned checkpoint -> /predict with the new version."""

from __future__ import annotations

import asyncio
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import numpy as np
import pytest

from demo.synthetic import Appearance, VideoSpec, truth_frames, write_video
from functions.common.ls_models import TimelineValue
from functions.common.timeline import frame_f1, matrix_to_values, regions_to_matrix
from tests.integration.conftest import upload
from tests.integration.events import apigw_v2, sqs_event
from tests.integration.test_predict_handler import LambdaContext, call

TRAINABLE = (
    '<View><Video name="video" value="$video" frameRate="25"/>'
    '<TimelineLabels name="videoLabels" toName="video" model_trainable="true" model_classifier_epochs="80">'
    '<Label value="square"/></TimelineLabels></View>'
)


@pytest.fixture(scope="module")
def square_videos(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[Path, VideoSpec]]:
    root = tmp_path_factory.mktemp("squares")
    out = []
    for i in range(5):
        start = 0.5 + 0.4 * i
        spec = VideoSpec(seconds=4, fps=25, appearances=(Appearance(start, start + 1.2, "square"),), seed=100 + i)
        out.append((write_video(root / f"sq{i}.mp4", spec), spec))
    return out


def annotation_event(
    task_id: int, annotation_id: int, url: str, spec: VideoSpec, updated_at: str = "2026-11-25T10:00:00Z"
) -> dict:
    truth = truth_frames(spec, 25.0, "square")
    values = matrix_to_values(truth[:, None].astype(np.uint8), ["square"])
    result = [
        {
            "id": f"r{i}",
            "type": "timelinelabels",
            "from_name": "videoLabels",
            "to_name": "video",
            "origin": "manual",
            "value": v.model_dump(),
        }
        for i, v in enumerate(values)
    ]
    task = {"id": task_id, "data": {"video": url}, "project": 7}
    return {
        "action": "ANNOTATION_CREATED",
        "annotation": {
            "id": annotation_id,
            "task": task_id,
            "project": 7,
            "updated_at": updated_at,
            "was_cancelled": False,
            "result": result,
        },
        "task": task,
        "project": {"id": 7, "label_config": TRAINABLE},
    }


def drain(queue_url: str) -> list[dict]:
    sqs = boto3.client("sqs")
    messages = []
    while True:
        batch = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)
        sqs.delete_message_batch(
            QueueUrl=queue_url,
            Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
        )


def submit(messages: list[dict]) -> dict:
    from functions.train import submit as submit_module

    submit_module._wired.cache_clear()
    return submit_module.lambda_handler(sqs_event(messages), LambdaContext(function_name="submit"))


def jobs(resources) -> list[dict]:
    batch = boto3.client("batch")
    ids = [
        j["jobId"]
        for j in batch.list_jobs(jobQueue=resources.job_queue, filters=[{"name": "JOB_NAME", "values": ["*"]}])[
            "jobSummaryList"
        ]
    ]
    return batch.describe_jobs(jobs=ids)["jobs"] if ids else []


def run_batch_job(job: dict, monkeypatch: pytest.MonkeyPatch) -> int:
    """What the Batch container does: the job definition's command with the overridden environment."""
    from functions.common.settings import get_settings
    from functions.train.job import main

    for item in job["container"]["environment"]:
        monkeypatch.setenv(item["name"], item["value"])
    get_settings.cache_clear()
    return main([])


def setup_version() -> str:
    status, body = call(apigw_v2("POST", "/setup", {"project": "7.1795616412", "schema": TRAINABLE}))
    assert status == 200
    return body["model_version"]


def test_annotations_train_a_model_that_predicts_unseen_tasks(resources, square_videos, monkeypatch):
    urls = [upload(resources, path, f"media/sq{i}.mp4") for i, (path, _) in enumerate(square_videos)]
    assert setup_version() == "videoLabels-untrained"
    # GIVEN three tasks annotated in Label Studio: each webhook answers 201 and queues one request
    for i in range(3):
        status, body = call(
            apigw_v2("POST", "/webhook", annotation_event(i + 1, 100 + i, urls[i], square_videos[i][1]))
        )
        assert status == 201 and body["queued"] == 1
    messages = drain(resources.queue_url)
    assert len(messages) == 3
    # WHEN the submitter Lambda gets them, plus one malformed record
    bad = {"MessageId": "bad-1", "Body": "{not json"}
    result = submit([*messages, bad])
    # THEN only the bad record fails, and the three requests coalesce into one Batch job
    assert result == {"batchItemFailures": [{"itemIdentifier": "bad-1"}]}
    (job,) = jobs(resources)
    assert job["jobQueue"] == resources.job_queue and job["jobDefinition"] == resources.job_definition
    env = {e["name"]: e["value"] for e in job["container"]["environment"]}
    request = json.loads(env["TRAIN_REQUEST"])
    assert (request["project"], request["control"]) == ("7", "videoLabels") and env["TRAIN_JOB_NAME"] == job["jobName"]
    # WHEN the same messages are delivered again (SQS is at-least-once)
    assert submit(messages) == {"batchItemFailures": []}
    assert len(jobs(resources)) == 1
    # WHEN the Batch job runs
    assert run_batch_job(job, monkeypatch) == 0
    # THEN v1 and the pointer exist, and /setup and /predict report it
    s3 = boto3.client("s3")
    pointer = json.loads(
        s3.get_object(Bucket=resources.bucket, Key="checkpoints/7/videoLabels/latest.json")["Body"].read()
    )
    meta = json.loads(
        s3.get_object(Bucket=resources.bucket, Key="checkpoints/7/videoLabels/v1/meta.json")["Body"].read()
    )
    assert pointer["version"] == 1 and sorted(t["annotation_id"] for t in meta["trained_on"]) == [100, 101, 102]
    assert meta["labels"] == ["square"] and meta["embedding_dim"] == 1280 and meta["timings"]["fit_s"] > 0
    version = setup_version()
    assert version.startswith("videoLabels-v1")
    body = {"tasks": [{"id": 5, "data": {"video": urls[4]}}], "project": "7.1795616412", "label_config": TRAINABLE}
    status, predicted = call(apigw_v2("POST", "/predict", body))
    (prediction,) = predicted["results"]
    assert status == 200 and prediction["model_version"] == version and prediction["result"]
    values = [TimelineValue.model_validate(r["value"]) for r in prediction["result"]]
    truth = truth_frames(square_videos[4][1], 25.0, "square")
    pred = regions_to_matrix(values, ["square"], len(truth))[:, 0] > 0
    assert frame_f1(pred, truth) > 0.6
    # AND /versions lists it with its metrics
    versions = call(apigw_v2("GET", "/versions"))[1]
    assert versions["versions"] == [version] and versions["details"][0]["metrics"]["train_f1"] > 0.6


def test_fifty_concurrent_webhooks_coalesce_into_one_job_that_trains_on_all(resources, square_videos, monkeypatch):
    urls = [upload(resources, path, f"media/sq{i}.mp4") for i, (path, _) in enumerate(square_videos)]
    events = [annotation_event(1 + n % 5, 1000 + n, urls[n % 5], square_videos[n % 5][1], f"t{n}") for n in range(50)]
    # Task ids repeat (several annotators per task); give each annotation its own task so all 50 count.
    for n, event in enumerate(events):
        event["task"] = {**event["task"], "id": 500 + n}
        event["annotation"]["task"] = 500 + n
    call(apigw_v2("GET", "/health"))  # import the handler once, outside the threads

    # WHEN 50 annotators submit at once
    def post(event: dict) -> int:
        # Each thread stands for one concurrent Lambda container, with its own event loop.
        asyncio.set_event_loop(asyncio.new_event_loop())
        return call(apigw_v2("POST", "/webhook", event))[0]

    with ThreadPoolExecutor(max_workers=10) as pool:
        statuses = list(pool.map(post, events))
    # THEN every webhook succeeded and every annotation is stored
    assert statuses == [201] * 50
    keys = boto3.client("s3").list_objects_v2(Bucket=resources.bucket, Prefix="records/7/")["KeyCount"]
    assert keys == 50
    # WHEN the 50 requests reach the submitter in concurrent batches of 10
    messages = drain(resources.queue_url)
    assert len(messages) == 50
    with ThreadPoolExecutor(max_workers=5) as pool:
        results = list(pool.map(submit, [messages[i : i + 10] for i in range(0, 50, 10)]))
    # THEN at most two jobs were submitted, and the job trains on every annotation
    assert all(r == {"batchItemFailures": []} for r in results)
    submitted = jobs(resources)
    assert 1 <= len(submitted) <= 2
    monkeypatch.setenv("TRAIN_MIN_TASKS", "3")
    assert run_batch_job(submitted[-1], monkeypatch) == 0
    meta = json.loads(
        boto3.client("s3")
        .get_object(Bucket=resources.bucket, Key="checkpoints/7/videoLabels/v1/meta.json")["Body"]
        .read()
    )
    assert sorted(t["annotation_id"] for t in meta["trained_on"]) == list(range(1000, 1050))
    assert meta["metrics"]["heldout_tasks"] >= 1 and "heldout_f1" in meta["metrics"]


def test_job_killed_before_moving_the_pointer_leaves_latest_valid(resources, square_videos, monkeypatch):
    from functions.common.storage import CheckpointStore

    urls = [upload(resources, path, f"media/sq{i}.mp4") for i, (path, _) in enumerate(square_videos)]
    for i in range(3):
        call(apigw_v2("POST", "/webhook", annotation_event(i + 1, 200 + i, urls[i], square_videos[i][1])))
    submit(drain(resources.queue_url))
    (job,) = jobs(resources)
    assert run_batch_job(job, monkeypatch) == 0
    first = setup_version()
    # GIVEN a fourth annotation and a job that dies after writing v2's files, before moving the pointer
    call(apigw_v2("POST", "/webhook", annotation_event(4, 203, urls[3], square_videos[3][1])))
    submit(drain(resources.queue_url))
    second_job = [j for j in jobs(resources) if j["jobName"] != job["jobName"]][0]

    def killed(*args, **kwargs):
        raise SystemExit(137)  # what a SIGKILL'd container leaves: nothing after this point runs

    monkeypatch.setattr(CheckpointStore, "move_latest", killed)
    with pytest.raises(SystemExit):
        run_batch_job(second_job, monkeypatch)
    monkeypatch.undo()
    os.environ.update(resources.env())
    # THEN v2 exists whole, but latest still names v1, which loads and predicts
    s3 = boto3.client("s3")
    assert s3.head_object(Bucket=resources.bucket, Key="checkpoints/7/videoLabels/v2/meta.json")
    assert setup_version() == first
    body = {"tasks": [{"id": 5, "data": {"video": urls[4]}}], "project": "7.1", "label_config": TRAINABLE}
    status, predicted = call(apigw_v2("POST", "/predict", body))
    assert status == 200 and predicted["results"][0]["model_version"] == first
