"""/webhook for every event Label Studio sends (contract doc §5), with fakes."""

import pytest
from pydantic import SecretStr

from functions.common.ls_models import TrainingRecord
from tests.unit.conftest import load_event

pytestmark = pytest.mark.unit


def test_annotation_created_stores_the_trainable_regions_and_queues_one_request(client, backend):
    r = client.post("/webhook", json=load_event("ls_webhook_annotation_created.json"))
    assert r.status_code == 201 and r.json()["queued"] == 1
    record = backend.records.get("1", 11)
    # only the trainable control's timeline regions, not the other control's choices
    assert list(record.regions) == ["videoLabels"]
    assert [v.model_dump() for v in record.regions["videoLabels"]] == [
        {"ranges": [{"start": 26, "end": 38}], "timelinelabels": ["square"]}
    ]
    (request,) = backend.queue.sent
    assert (request.project, request.control, request.reason) == ("1", "videoLabels", "ANNOTATION_CREATED")
    assert request.label_config.startswith("<View>")


def test_update_replaces_the_record(client, backend):
    event = load_event("ls_webhook_annotation_created.json")
    client.post("/webhook", json=event)
    event["action"] = "ANNOTATION_UPDATED"
    event["annotation"]["result"][0]["value"]["ranges"] = [{"start": 1, "end": 2}]
    event["annotation"]["updated_at"] = "2026-11-25T11:00:00Z"
    assert client.post("/webhook", json=event).status_code == 201
    (record,) = backend.records.list("1")
    assert record.regions["videoLabels"][0].ranges[0].end == 2
    # an update is a new request (another id), so it is not dropped as a duplicate
    assert len({r.request_id for r in backend.queue.sent}) == 2


def test_skipped_task_stores_nothing_and_forgets_an_earlier_record(client, backend):
    event = load_event("ls_webhook_annotation_created.json")
    client.post("/webhook", json=event)
    event["annotation"]["was_cancelled"] = True
    r = client.post("/webhook", json=event)
    assert r.status_code == 200 and backend.records.list("1") == []


def test_bulk_annotations_created(client, backend):
    r = client.post("/webhook", json=load_event("ls_webhook_annotations_created.json"))
    assert r.status_code == 201 and r.json()["queued"] == 1
    assert sorted(rec.task_id for rec in backend.records.list("1")) == [1, 2]
    assert {rec.media_url for rec in backend.records.list("1")} == {
        "/data/upload/1/b5c6319a-ball1.mp4",
        "/data/upload/1/c7-ball2.mp4",
    }


def test_annotations_deleted_removes_the_record_and_retrains(client, backend):
    client.post("/webhook", json=load_event("ls_webhook_annotation_created.json"))
    r = client.post("/webhook", json=load_event("ls_webhook_annotations_deleted.json"))
    assert r.status_code == 201 and backend.records.list("1") == []
    assert [x.reason for x in backend.queue.sent] == ["ANNOTATION_CREATED", "ANNOTATIONS_DELETED"]
    # deleting an annotation we never stored queues nothing
    assert client.post("/webhook", json=load_event("ls_webhook_annotations_deleted.json")).status_code == 200


def test_start_training_queues_every_trainable_control(client, backend):
    r = client.post("/webhook", json=load_event("ls_webhook_start_training.json"))
    assert r.status_code == 201 and [x.reason for x in backend.queue.sent] == ["START_TRAINING"]


def test_project_updated_is_noted_and_other_events_are_acknowledged(client, backend):
    r = client.post("/webhook", json=load_event("ls_webhook_project_updated.json"))
    assert r.status_code == 200 and backend.records.project_config("1")["label_config"].startswith("<View>")
    assert client.post("/webhook", json={"action": "LABEL_LINK_CREATED", "project": {"id": 1}}).status_code == 200
    assert backend.queue.sent == []


def test_tasks_created_queues_background_embedding_of_their_videos(client, backend):
    r = client.post("/webhook", json=load_event("ls_webhook_tasks_created.json"))
    assert r.status_code == 201
    (request,) = backend.queue.sent
    assert request.control == "__prefetch__"
    assert [(i.url, i.frame_rate) for i in request.embed] == [("/data/upload/1/b5c6319a-ball1.mp4", 25.0)]


def test_simple_mode_projects_queue_nothing(client, backend):
    event = load_event("ls_webhook_annotation_created.json")
    event["project"]["label_config"] = event["project"]["label_config"].replace(' model_trainable="true"', "")
    r = client.post("/webhook", json=event)
    assert r.status_code == 200 and backend.queue.sent == [] and backend.records.list("1") == []


def test_webhook_secret_header(make_backend, settings, client_for):
    backend = make_backend(settings.model_copy(update={"webhook_secret": SecretStr("s3cret")}))
    client = client_for(backend)
    event = load_event("ls_webhook_annotation_created.json")
    assert client.post("/webhook", json=event).status_code == 401
    assert client.post("/webhook", json=event, headers={"X-Webhook-Secret": "nope"}).status_code == 401
    assert client.post("/webhook", json=event, headers={"X-Webhook-Secret": "s3cret"}).status_code == 201


def test_records_round_trip_through_json():
    rec = TrainingRecord(project="1", annotation_id=1, task_id=2, media_url="s3://b/k.mp4")
    assert TrainingRecord.model_validate_json(rec.model_dump_json()) == rec


def test_start_training_needs_no_secret_header_when_basic_auth_is_off(make_backend, settings, client_for):
    # GIVEN only a webhook secret: Label Studio sends START_TRAINING with no credential at all
    backend = make_backend(settings.model_copy(update={"webhook_secret": SecretStr("s3cret")}))
    client = client_for(backend)
    # THEN it still trains (it adds no data), while data-changing events need the header
    assert client.post("/webhook", json=load_event("ls_webhook_start_training.json")).status_code == 201
    assert client.post("/webhook", json=load_event("ls_webhook_annotation_created.json")).status_code == 401


def test_start_training_with_basic_auth_configured_needs_it(make_backend, settings, client_for):
    import base64

    backend = make_backend(
        settings.model_copy(
            update={
                "webhook_secret": SecretStr("s3cret"),
                "basic_auth_user": "ls",
                "basic_auth_password": SecretStr("pw"),
            }
        )
    )
    client = client_for(backend)
    event = load_event("ls_webhook_start_training.json")
    assert client.post("/webhook", json=event).status_code == 401
    basic = {"Authorization": "Basic " + base64.b64encode(b"ls:pw").decode()}
    assert client.post("/webhook", json=event, headers=basic).status_code == 201
