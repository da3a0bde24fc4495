"""The ML backend HTTP contract with FastAPI's TestClient, on payloads shaped like Label Studio's."""

from __future__ import annotations

import base64

import numpy as np
import pytest
import torch
from pydantic import SecretStr

from functions.common.label_config import ClassifierParams
from functions.common.ls_models import CheckpointMeta, LatestPointer
from functions.common.lstm import build_model, state_to_bytes
from functions.common.storage import CheckpointStore
from tests.unit.conftest import load_event

pytestmark = pytest.mark.unit

TRAINABLE = (
    '<View><Video name="video" value="$video" frameRate="25"/>'
    '<TimelineLabels name="videoLabels" toName="video" model_trainable="true"><Label value="square"/></TimelineLabels></View>'
)


def predict_body(config: str | None = None, tasks: int = 1) -> dict:
    body = load_event("ls_predict.json")
    if config:
        body["label_config"] = config
    if tasks == 2:
        body["tasks"].append({**body["tasks"][0], "id": 2, "data": {"video": "/data/upload/1/c7-ball2.mp4"}})
    return body


def test_health_and_root(client):
    for path in ("/health", "/"):
        r = client.get(path)
        assert r.status_code == 200 and r.json()["status"] == "UP"


def test_setup_returns_the_version_predictions_carry(client):
    # GIVEN the /setup LS sends before every /predict batch
    setup = client.post("/setup", json=load_event("ls_setup.json"))
    # WHEN it predicts with the same config
    pred = client.post("/predict", json=predict_body())
    # THEN the versions are equal, so "Retrieve predictions" skips tasks already predicted
    assert setup.status_code == 200
    assert pred.json()["results"][0]["model_version"] == setup.json()["model_version"]


def test_simple_mode_finds_the_ball_frames(client):
    # GIVEN a 30 fps video with a ball from 1.0 s to 1.5 s, labelled at frameRate 25
    r = client.post("/predict", json=predict_body(tasks=2))
    # THEN one prediction per task, in order, with regions named after the control
    assert r.status_code == 200
    results = r.json()["results"]
    assert len(results) == 2
    (region,) = list(results[0]["result"])
    assert (region["from_name"], region["to_name"], region["type"]) == ("videoLabels", "video", "timelinelabels")
    assert region["value"]["timelinelabels"] == ["ball"]
    rng = region["value"]["ranges"][0]
    assert abs(rng["start"] - 26) <= 1 and abs(rng["end"] - 38) <= 1
    assert 0 <= results[0]["score"] <= 1 and 0 < region["score"] <= 1
    # the second task (ball 0.2..0.6 s at 25 fps -> frames 6..15)
    (second,) = results[1]["result"]
    assert abs(second["value"]["ranges"][0]["start"] - 6) <= 1


def test_warm_predict_neither_downloads_nor_embeds(client, backend):
    client.post("/predict", json=predict_body())
    fetched, embedded = list(backend.media.fetched), list(backend.embedder().videos)
    # WHEN the same task is predicted again
    r = client.post("/predict", json=predict_body())
    # THEN the cache answered: no download, no decode
    assert r.status_code == 200
    assert backend.media.fetched == fetched and backend.embedder().videos == embedded
    assert backend.counters["cache_hits"] == 1


def test_bad_label_config_is_a_4xx_naming_the_attribute(client):
    body = load_event("ls_setup.json")
    body["schema"] = body["schema"].replace('toName="video"', 'toName="video" model_trainable="sometimes"')
    r = client.post("/setup", json=body)
    assert r.status_code == 400 and "model_trainable" in r.json()["detail"]


def test_label_matching_no_model_class_is_refused_at_setup(client):
    body = load_event("ls_setup.json")
    body["schema"] = body["schema"].replace('value="ball"', 'value="flash"')
    r = client.post("/setup", json=body)
    assert r.status_code == 400 and "predicted_values" in r.json()["detail"]


def test_untrained_trainable_control_predicts_nothing_without_touching_media(client, backend):
    setup = client.post("/setup", json={**load_event("ls_setup.json"), "schema": TRAINABLE})
    r = client.post("/predict", json=predict_body(TRAINABLE))
    assert r.status_code == 200
    (result,) = r.json()["results"]
    assert result["result"] == [] and result["model_version"] == "videoLabels-untrained"
    assert setup.json()["model_version"] == "videoLabels-untrained"
    assert backend.media.fetched == []


def _write_checkpoint(backend, version: int, f1: float | None, labels=("square",)) -> None:
    torch.manual_seed(0)
    params = ClassifierParams(hidden_size=4)
    model = build_model(8, len(labels), params)
    meta = CheckpointMeta(
        version=version,
        lineage="L",
        project="1",
        control="videoLabels",
        labels=list(labels),
        params=params.model_dump(),
        embedder_id="x",
        embedding_dim=8,
        created_at=0.0,
        metrics={"heldout_f1": f1} if f1 is not None else {},
    )
    store = CheckpointStore(backend.objects)
    store.write_version(meta, state_to_bytes(model))
    store.move_latest("1", "videoLabels", LatestPointer(version=version, heldout_f1=f1, labels=list(labels)))


def test_trained_checkpoint_names_the_version_and_predicts_every_frame(client, backend):
    # GIVEN a checkpoint v3 with held-out F1 0.91
    _write_checkpoint(backend, 3, 0.91)
    setup = client.post("/setup", json={**load_event("ls_setup.json"), "schema": TRAINABLE})
    r = client.post("/predict", json=predict_body(TRAINABLE))
    # THEN the version says so, in /setup and in the prediction
    assert setup.json()["model_version"] == "videoLabels-v3-f1-0.91"
    (result,) = r.json()["results"]
    assert result["model_version"] == "videoLabels-v3-f1-0.91"
    assert 0 <= result["score"] <= 1
    # AND a new version is picked up by the warm process at the next request
    _write_checkpoint(backend, 4, None)
    assert (
        client.post("/setup", json={**load_event("ls_setup.json"), "schema": TRAINABLE}).json()["model_version"]
        == "videoLabels-v4"
    )
    assert (
        client.post("/predict", json=predict_body(TRAINABLE)).json()["results"][0]["model_version"] == "videoLabels-v4"
    )


def test_checkpoint_with_other_labels_is_not_used(client, backend):
    _write_checkpoint(backend, 1, 0.9, labels=("circle",))
    r = client.post("/predict", json=predict_body(TRAINABLE))
    assert r.json()["results"][0]["model_version"] == "videoLabels-untrained"


def test_tasks_past_the_budget_are_pending(make_backend, settings, client_for):
    # GIVEN a clock that jumps past the budget once the first video was fetched
    holder = {}
    backend = make_backend(
        settings.model_copy(update={"predict_budget_s": 10}),
        clock=lambda: 100.0 if holder["b"].media.fetched else 0.0,
    )
    holder["b"] = backend
    r = client_for(backend).post("/predict", json=predict_body(tasks=2))
    versions = [x["model_version"] for x in r.json()["results"]]
    # THEN the first is predicted, the second answered with a version /setup never returns
    assert versions[1] == versions[0] + "-pending" and r.json()["results"][1]["result"] == []


def test_missing_video_is_a_4xx_naming_the_input(client):
    body = predict_body()
    body["tasks"][0]["data"] = {"video": "/data/upload/1/missing.mp4"}
    r = client.post("/predict", json=body)
    assert r.status_code == 422 and "missing.mp4" in r.json()["detail"]
    body["tasks"][0]["data"] = {"image": "x"}
    r = client.post("/predict", json=body)
    assert r.status_code == 422 and '"video"' in r.json()["detail"]


def test_one_bad_task_does_not_lose_the_others(client):
    body = predict_body(tasks=2)
    body["tasks"][0]["data"] = {"video": "/data/upload/1/missing.mp4"}
    r = client.post("/predict", json=body)
    assert r.status_code == 200
    first, second = r.json()["results"]
    assert first["model_version"].endswith("-error") and second["result"]


def test_basic_auth(make_backend, settings, client_for):
    backend = make_backend(
        settings.model_copy(update={"basic_auth_user": "ls", "basic_auth_password": SecretStr("pw")})
    )
    client = client_for(backend)
    good = {"Authorization": "Basic " + base64.b64encode(b"ls:pw").decode()}
    bad = {"Authorization": "Basic " + base64.b64encode(b"ls:nope").decode()}
    assert client.get("/health").status_code == 200
    for path, body in (("/setup", load_event("ls_setup.json")), ("/predict", predict_body())):
        assert client.post(path, json=body).status_code == 401
        assert client.post(path, json=body, headers=bad).status_code == 401
        assert client.post(path, json=body, headers=good).status_code == 200
    assert client.get("/versions").status_code == 401
    assert client.get("/metrics", headers=good).status_code == 200
    # Label Studio's own webhook carries no credentials: with only Basic auth set it still gets in
    assert client.post("/webhook", json=load_event("ls_webhook_annotation_created.json")).status_code == 201


def test_versions_lists_checkpoints(client, backend):
    assert client.get("/versions").json()["versions"] == []
    _write_checkpoint(backend, 1, 0.5)
    _write_checkpoint(backend, 2, 0.8)
    body = client.get("/versions").json()
    assert body["versions"] == ["videoLabels-v1-f1-0.50", "videoLabels-v2-f1-0.80"]
    assert [d["latest"] for d in body["details"]] == [False, True]


def test_embeddings_are_float16_and_cover_every_frame(client, backend):
    client.post("/predict", json=predict_body())
    (key,) = [k for k in backend.objects.objects if k.startswith("embeddings/")]
    from functions.common.features import Embeddings

    emb = Embeddings.from_bytes(backend.objects.objects[key])
    assert emb.features.dtype == np.float16 and emb.num_frames == 75 and "/fr25/" in key


def test_video_too_long_for_the_budget_is_pending_and_queued_for_background_embedding(
    make_backend, settings, client_for
):
    # GIVEN a backend that believes it embeds 1 frame/s, with 10 s of budget
    backend = make_backend(settings.model_copy(update={"predict_budget_s": 10, "embed_fps_estimate": 1.0}))
    client = client_for(backend)
    # WHEN a 75-frame video is predicted
    r = client.post("/predict", json=predict_body())
    # THEN the task is pending, nothing was embedded, and a background embedding request is queued
    (result,) = r.json()["results"]
    assert r.status_code == 200 and result["model_version"].endswith("-pending")
    assert backend.embedder().videos == []
    (request,) = backend.queue.sent
    assert request.control == "__prefetch__" and request.embed[0].url == "/data/upload/1/b5c6319a-ball1.mp4"
    # WHEN the background job has filled the cache
    backend.embeddings.fps_estimate = 1000.0
    backend.embeddings.get("/data/upload/1/b5c6319a-ball1.mp4", 25.0)
    # THEN the next retrieve predicts it from the cache
    again = client.post("/predict", json=predict_body()).json()["results"][0]
    assert not again["model_version"].endswith("-pending") and again["result"]
