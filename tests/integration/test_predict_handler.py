"""The predict Lambda through Mangum, against S3 and SQS on an emulator, with the real YOLO embedder."""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass

import boto3
import numpy as np

from demo.synthetic import truth_frames
from functions.common.features import Embeddings
from functions.common.ls_models import TimelineValue
from functions.common.timeline import frame_f1, regions_to_matrix
from tests.integration.conftest import upload
from tests.integration.events import apigw_v1, apigw_v2, response_json

SIMPLE = (
    '<View><Video name="video" value="$video" frameRate="25"/>'
    '<TimelineLabels name="videoLabels" toName="video"><Label value="ball"/></TimelineLabels></View>'
)


@dataclass
class LambdaContext:
    function_name: str = "predict"
    memory_limit_in_mb: int = 3008
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:predict"
    aws_request_id: str = "req-1"


def handler():
    return importlib.import_module("functions.predict.handler").lambda_handler


def call(event):
    response = handler()(event, LambdaContext())
    return response["statusCode"], response_json(response)


def test_health_through_v2_and_v1_events(resources):
    assert call(apigw_v2("GET", "/health")) == (200, {"status": "UP", "model_class": "VideoFrameClassifier"})
    assert call(apigw_v1("GET", "/health"))[0] == 200


def test_setup_through_the_handler_rejects_a_bad_config(resources):
    status, body = call(apigw_v2("POST", "/setup", {"project": "3.17", "schema": SIMPLE.replace('"25"', '"fast"')}))
    assert status == 400 and "frameRate" in body["detail"]


def test_cold_predict_fills_the_cache_and_warm_predict_reads_only_s3(resources, videos):
    # GIVEN a task whose video lives in S3
    path, spec = videos["ball1.mp4"]
    url = upload(resources, path, "media/ball1.mp4")
    body = {"tasks": [{"id": 1, "data": {"video": url}}], "project": "3.17", "label_config": SIMPLE}
    setup_status, setup = call(apigw_v2("POST", "/setup", {"project": "3.17", "schema": SIMPLE}))
    # WHEN /predict runs cold through the REST v1 shape
    status, cold = call(apigw_v1("POST", "/predict", body))
    # THEN embeddings and the media index are in S3, and the ball is found near its true frames
    assert setup_status == 200 and status == 200
    assert cold["results"][0]["model_version"] == setup["model_version"]
    s3 = boto3.client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=resources.bucket).get("Contents", [])]
    (emb_key,) = [k for k in keys if k.startswith("embeddings/")]
    assert any(k.startswith("media-index/") for k in keys)
    emb = Embeddings.from_bytes(s3.get_object(Bucket=resources.bucket, Key=emb_key)["Body"].read())
    assert emb.num_frames == 100 and emb.features.shape[1] == 1280 and emb.features.dtype == np.float16
    values = [TimelineValue.model_validate(r["value"]) for r in cold["results"][0]["result"]]
    pred = regions_to_matrix(values, ["ball"], emb.num_frames)[:, 0] > 0
    assert frame_f1(pred, truth_frames(spec, 25.0, "ball")) > 0.8
    # WHEN the same task is predicted warm (HTTP API v2 shape)
    before = call(apigw_v2("GET", "/metrics"))[1]["counters"]
    status, warm = call(apigw_v2("POST", "/predict", body))
    after = call(apigw_v2("GET", "/metrics"))[1]["counters"]
    # THEN the answer is the same and nothing was downloaded or decoded
    assert status == 200 and warm == cold
    assert after["downloads"] == before["downloads"] == 1
    assert after["videos_embedded"] == before["videos_embedded"] == 1
    assert after["cache_hits"] == before.get("cache_hits", 0) + 1


def test_same_video_under_another_url_is_not_embedded_again(resources, videos):
    path, _ = videos["ball2.mp4"]
    first = upload(resources, path, "media/a.mp4")
    second = upload(resources, path, "media/copy-of-a.mp4")
    for i, url in enumerate((first, second)):
        body = {"tasks": [{"id": i, "data": {"video": url}}], "project": "3.17", "label_config": SIMPLE}
        assert call(apigw_v2("POST", "/predict", body))[0] == 200
    counters = call(apigw_v2("GET", "/metrics"))[1]["counters"]
    assert counters["downloads"] == 2 and counters["videos_embedded"] == 1


def test_webhook_through_the_handler_stores_the_record_and_queues_training(resources):
    # GIVEN an ANNOTATION_CREATED event shaped like Label Studio's
    from tests.unit.conftest import load_event

    event = load_event("ls_webhook_annotation_created.json")
    # WHEN it reaches /webhook through API Gateway
    status, body = call(apigw_v2("POST", "/webhook", event))
    # THEN 201, the record holds only the trainable control's regions, and one request is queued
    assert status == 201 and body["queued"] == 1
    s3 = boto3.client("s3")
    record = json.loads(s3.get_object(Bucket=resources.bucket, Key="records/1/11.json")["Body"].read())
    assert list(record["regions"]) == ["videoLabels"]
    assert record["regions"]["videoLabels"][0]["ranges"] == [{"start": 26, "end": 38}]
    msgs = boto3.client("sqs").receive_message(QueueUrl=resources.queue_url, MaxNumberOfMessages=10)["Messages"]
    assert [json.loads(m["Body"])["control"] for m in msgs] == ["videoLabels"]
