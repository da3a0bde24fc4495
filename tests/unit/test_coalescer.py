"""Coalescing rules, with an in-memory bucket and a recording submitter."""

import pytest

from functions.common.ls_models import EmbedItem, TrainRequest
from functions.train.coalescer import TrainStateStore, job_name, mark_finished, mark_started, request_training
from tests.fakes.memory import InMemoryObjectStore, RecordingSubmitter

pytestmark = pytest.mark.unit


def req(n: int, at: float) -> TrainRequest:
    return TrainRequest(project="1", control="c", reason="ANNOTATION_CREATED", request_id=f"r{n}", requested_at=at)


@pytest.fixture
def world():
    return TrainStateStore(InMemoryObjectStore()), RecordingSubmitter()


def test_requests_join_the_queued_job(world):
    states, submitter = world
    outcomes = [request_training(states, submitter, req(i, 10 + i), clock=lambda: 20.0).outcome for i in range(5)]
    assert outcomes == ["submitted"] + ["coalesced"] * 4
    assert [name for name, _ in submitter.submitted] == ["train-1-c-1"]


def test_request_during_a_running_job_queues_exactly_one_follow_up(world):
    states, submitter = world
    request_training(states, submitter, req(1, 10), clock=lambda: 11.0)
    mark_started(states, "1", "c", "train-1-c-1", now=12.0)
    # WHEN three annotations arrive while it runs
    outcomes = [request_training(states, submitter, req(i, 13 + i), clock=lambda: 20.0).outcome for i in range(2, 5)]
    # THEN one follow-up is queued and the others join it
    assert outcomes == ["submitted", "coalesced", "coalesced"]
    state, _ = states.read("1", "c")
    assert state.running.name == "train-1-c-1" and state.queued.name == "train-1-c-2"
    mark_finished(states, "1", "c", "train-1-c-1")
    assert states.read("1", "c")[0].running is None


def test_duplicates_and_covered_requests_submit_nothing(world):
    states, submitter = world
    request_training(states, submitter, req(1, 10), clock=lambda: 11.0)
    assert request_training(states, submitter, req(1, 10), clock=lambda: 11.0).outcome == "duplicate"
    mark_started(states, "1", "c", "train-1-c-1", now=30.0)
    # a request stored before the job's snapshot (a late redelivery) is already in its data
    assert request_training(states, submitter, req(9, 25), clock=lambda: 31.0).outcome == "covered"
    assert len(submitter.submitted) == 1


def test_failed_submit_releases_the_queued_slot(world):
    states, _ = world

    class Broken(RecordingSubmitter):
        def submit(self, name, request):
            raise RuntimeError("Batch is down")

    with pytest.raises(RuntimeError):
        request_training(states, Broken(), req(1, 10))
    assert states.read("1", "c")[0].queued is None
    assert request_training(states, RecordingSubmitter(), req(2, 11)).outcome == "submitted"


def test_stale_queued_job_is_replaced(world):
    states, submitter = world
    request_training(states, submitter, req(1, 10), clock=lambda: 10.0)
    submitter.active.clear()  # Batch lost it: it failed before it could start
    assert request_training(states, submitter, req(2, 11), clock=lambda: 10.0 + 3600).outcome == "submitted"


def test_job_names_are_batch_safe():
    assert job_name("1", "video labels/x", 3) == "train-1-video-labels-x-3"


def test_embedding_requests_skip_coalescing_in_the_submitter(world):
    import json

    from functions.train.submit import handle_batch

    states, submitter = world
    body = req(1, 10).model_copy(
        update={"control": "__prefetch__", "embed": [EmbedItem(url="s3://b/v.mp4", frame_rate=25)]}
    )
    record = {
        "messageId": "m1",
        "receiptHandle": "h",
        "body": body.model_dump_json(),
        "md5OfBody": "",
        "attributes": {
            "ApproximateReceiveCount": "1",
            "SentTimestamp": "1",
            "SenderId": "x",
            "ApproximateFirstReceiveTimestamp": "1",
        },
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:q",
        "awsRegion": "us-east-1",
    }
    assert handle_batch({"Records": [record]}, None, states=states, submitter=submitter) == {"batchItemFailures": []}
    ((name, request),) = submitter.submitted
    assert name.startswith("embed-1-") and request.embed[0].url == "s3://b/v.mp4"
    assert json.loads(body.model_dump_json())["embed"][0]["frame_rate"] == 25
