"""New tasks are embedded in the background: TASKS_CREATED -> SQS -> submitter -> Batch job -> S3 cache,
so the first /predict of a task neither downloads nor decodes its video."""

from __future__ import annotations

import boto3

from tests.integration.conftest import upload
from tests.integration.events import apigw_v2
from tests.integration.test_predict_handler import SIMPLE, call
from tests.integration.test_training_flow import drain, jobs, run_batch_job, submit


def test_imported_tasks_are_embedded_before_anyone_opens_them(resources, videos, monkeypatch):
    path, _ = videos["ball2.mp4"]
    url = upload(resources, path, "media/new.mp4")
    event = {
        "action": "TASKS_CREATED",
        "tasks": [{"id": 9, "data": {"video": url}}],
        "project": {"id": 4, "label_config": SIMPLE},
    }
    # WHEN Label Studio reports the import
    status, body = call(apigw_v2("POST", "/webhook", event))
    assert status == 201 and body["queued"] == 1
    # AND the submitter and the Batch job run
    assert submit(drain(resources.queue_url)) == {"batchItemFailures": []}
    (job,) = jobs(resources)
    assert job["jobName"].startswith("embed-4-")
    assert run_batch_job(job, monkeypatch) == 0
    keys = [
        o["Key"]
        for o in boto3.client("s3").list_objects_v2(Bucket=resources.bucket, Prefix="embeddings/").get("Contents", [])
    ]
    assert len(keys) == 1 and "/fr25/" in keys[0]
    # THEN the first /predict of the task is a cache read
    predict = {"tasks": [{"id": 9, "data": {"video": url}}], "project": "4.1", "label_config": SIMPLE}
    status, answer = call(apigw_v2("POST", "/predict", predict))
    counters = call(apigw_v2("GET", "/metrics"))[1]["counters"]
    assert status == 200 and answer["results"][0]["result"]
    assert counters.get("downloads", 0) == 0 and counters["cache_hits"] == 1
