"""A real Label Studio 1.23.2 drives the local stack the way a user does, through label-studio-sdk:

create a trainable video project, connect the backend (with HTTP Basic auth), add the webhook secret
header to the webhook Label Studio created, upload videos (embedded in the background), retrieve
predictions (empty while untrained), annotate three videos (Label Studio sends the webhooks itself,
training runs), retrieve predictions for an unannotated video from the trained model, press "Start
training".

The tests run in file order and share one project (module fixtures); each phase depends on the one before.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import pytest

from demo.synthetic import Appearance, VideoSpec, truth_frames, write_video
from functions.common.ls_models import TimelineValue
from functions.common.timeline import matrix_to_values, regions_to_matrix

from .conftest import BackendServer, LabelStudioServer

pytestmark = pytest.mark.e2e

FRAME_RATE = 25.0
CONTROL = "videoLabels"
LABEL = "square"
LABEL_CONFIG = (
    '<View><Video name="video" value="$video" frameRate="25"/>'
    f'<TimelineLabels name="{CONTROL}" toName="video" model_trainable="true" '
    'model_classifier_epochs="60" model_classifier_sequence_size="16">'
    f'<Label value="{LABEL}"/></TimelineLabels></View>'
)
N_VIDEOS = 5
ANNOTATED = 3  # TRAIN_MIN_TASKS
TRAINING_TIMEOUT_S = 240.0
# Label Studio calls /predict inside the action request and waits up to 100 s for it.
SLOW = {"timeout_in_seconds": 150}


@dataclass
class Video:
    name: str
    spec: VideoSpec
    path: Path
    task_id: int = 0
    url: str = ""  # the task's data.video, as Label Studio stored it

    @property
    def truth(self) -> npt.NDArray[np.bool_]:
        return truth_frames(self.spec, FRAME_RATE, LABEL)


@dataclass
class Scenario:
    ls: Any  # label_studio_sdk.client.LabelStudio
    server: LabelStudioServer
    backend: BackendServer
    project_id: int
    ml_backend_id: int
    videos: list[Video] = field(default_factory=list)


def _square_videos(root: Path) -> list[Video]:
    """4 s, 25 fps, 160x120 videos, each with a red square visible for 1–1.5 s at a random time."""
    rng = np.random.default_rng(2024)
    videos = []
    for i in range(N_VIDEOS):
        length = float(rng.uniform(1.0, 1.5))
        start = round(float(rng.uniform(0.3, 4.0 - length - 0.3)), 2)
        spec = VideoSpec(
            seconds=4,
            fps=25,
            width=160,
            height=120,
            appearances=(Appearance(start, start + length, "square"),),
            seed=100 + i,
        )
        path = write_video(root / f"square{i}.mp4", spec)
        videos.append(Video(name=path.name, spec=spec, path=path))
    return videos


def _upload(server: LabelStudioServer, project_id: int, videos: list[Video]) -> dict[str, Any]:
    """The "Import" dialog: a multipart upload of the files (label-studio-sdk 2.1.2 has no upload call)."""
    files = [(f"file{i}", (v.name, v.path.read_bytes(), "video/mp4")) for i, v in enumerate(videos)]
    resp = httpx.post(
        f"{server.url}/api/projects/{project_id}/import",
        params={"return_task_ids": "true"},
        headers={"Authorization": f"Token {server.token}"},
        files=files,
        timeout=60,
    )
    assert resp.status_code == 201, f"import failed: {resp.status_code} {resp.text[:500]}"
    return dict(resp.json())


def _retrieve_predictions(scenario: Scenario, task_ids: list[int]) -> None:
    """Data Manager > select tasks > Actions > Retrieve Predictions (LS calls /setup, then /predict)."""
    scenario.ls.actions.create(
        id="retrieve_tasks_predictions",
        project=scenario.project_id,
        selected_items={"all": False, "included": task_ids},
        request_options=SLOW,
    )


def _predictions(scenario: Scenario, task_id: int) -> list[Any]:
    return list(scenario.ls.predictions.list(task=task_id))


def _backend_get(scenario: Scenario, path: str) -> dict[str, Any]:
    auth = (scenario.backend.basic_auth_user, scenario.backend.basic_auth_password)
    resp = httpx.get(f"{scenario.backend.url}{path}", auth=auth, timeout=10)
    resp.raise_for_status()
    return dict(resp.json())


def _counter(scenario: Scenario, name: str) -> int:
    return int(_backend_get(scenario, "/metrics")["counters"].get(name, 0))


def _assert_jobs_succeeded(scenario: Scenario) -> None:
    jobs = scenario.backend.jobs()
    assert jobs and all(j.status == "SUCCEEDED" for j in jobs), [(j.name, j.status, j.exit_code) for j in jobs]


def _queued(scenario: Scenario) -> int:
    return _counter(scenario, "train_requests_queued")


def _webhook(scenario: Scenario) -> Any:
    expected = f"{scenario.backend.url}/webhook"
    hooks = scenario.ls.webhooks.list(project=str(scenario.project_id))
    matching = [h for h in hooks if h.url == expected]
    assert len(matching) == 1, f"expected one webhook to {expected}; webhooks: {[h.url for h in hooks]}"
    return matching[0]


def _timeline_result(truth: npt.NDArray[np.bool_]) -> list[dict[str, Any]]:
    values = matrix_to_values(truth[:, None].astype(np.uint8), [LABEL])
    return [
        {
            "id": f"r{i}",
            "type": "timelinelabels",
            "from_name": CONTROL,
            "to_name": "video",
            "origin": "manual",
            "value": value.model_dump(),
        }
        for i, value in enumerate(values)
    ]


@pytest.fixture(scope="module")
def scenario(
    label_studio: LabelStudioServer, backend: BackendServer, tmp_path_factory: pytest.TempPathFactory
) -> Scenario:
    from label_studio_sdk.client import LabelStudio

    ls = LabelStudio(base_url=label_studio.url, api_key=label_studio.token)
    project = ls.projects.create(title="e2e video frames", label_config=LABEL_CONFIG)
    assert project.id is not None
    ml = ls.ml.create(
        url=backend.url,
        project=project.id,
        title="video frames (local stack)",
        auth_method="BASIC_AUTH",
        basic_auth_user=backend.basic_auth_user,
        basic_auth_pass=backend.basic_auth_password,
    )
    assert ml.id is not None
    return Scenario(
        ls=ls,
        server=label_studio,
        backend=backend,
        project_id=project.id,
        ml_backend_id=ml.id,
        videos=_square_videos(tmp_path_factory.mktemp("e2e-videos")),
    )


def test_ml_backend_connects_and_gets_a_webhook(scenario: Scenario) -> None:
    # GIVEN a trainable video project with our backend added as its ML backend, with Basic auth (fixture)
    # WHEN Label Studio has checked it (it calls /health and /setup while connecting)
    ml = scenario.ls.ml.get(id=scenario.ml_backend_id)

    # THEN the backend is connected with the untrained version /setup reported
    assert ml.state == "CO", f"ML backend state {ml.state} ({ml.readable_state}): {ml.error_message}"
    assert ml.model_version == f"{CONTROL}-untrained"
    # AND Label Studio created the project webhook to <backend>/webhook by itself, for all actions, no headers
    hook = _webhook(scenario)
    assert hook.is_active and hook.send_payload and hook.send_for_all_actions
    assert not hook.headers


def test_webhook_without_the_secret_header_is_refused(scenario: Scenario, caplog: pytest.LogCaptureFixture) -> None:
    # GIVEN the header-less webhook Label Studio created, and a backend that requires WEBHOOK_SECRET
    # WHEN a project event happens (the user edits the project: LS posts PROJECT_UPDATED to /webhook)
    with caplog.at_level(logging.WARNING, logger="functions.predict"):
        scenario.ls.projects.update(id=scenario.project_id, description="frames with a red square")

    # THEN the backend refused it
    messages = [r.getMessage() for r in caplog.records]
    assert any("PROJECT_UPDATED rejected" in m for m in messages), messages
    assert any("POST /webhook -> 401" in m for m in messages), messages


def test_user_adds_the_webhook_secret_header(scenario: Scenario) -> None:
    # GIVEN the webhook Label Studio created, without headers
    hook = _webhook(scenario)

    # WHEN the user adds X-Webhook-Secret to it (Project > Settings > Webhooks > the backend's /webhook)
    scenario.ls.webhooks.update(id=hook.id, headers={"X-Webhook-Secret": scenario.backend.webhook_secret})

    # THEN the webhook still goes to the backend for all actions, now with the header
    hook = _webhook(scenario)
    assert hook.headers == {"X-Webhook-Secret": scenario.backend.webhook_secret}
    assert hook.is_active and hook.send_payload and hook.send_for_all_actions


def test_uploaded_videos_become_tasks_and_are_embedded_in_the_background(scenario: Scenario) -> None:
    # GIVEN five generated videos
    prefetch_before = _counter(scenario, "videos_prefetch_queued")

    # WHEN they are uploaded through the import API (LS posts TASKS_CREATED to /webhook)
    answer = _upload(scenario.server, scenario.project_id, scenario.videos)

    # THEN Label Studio made one task per file, whose data points at /data/upload/...
    assert answer.get("task_count") == N_VIDEOS, answer
    tasks = list(scenario.ls.tasks.list(project=scenario.project_id))
    assert len(tasks) == N_VIDEOS
    for task in tasks:
        url = task.data["video"]
        assert url.startswith(f"/data/upload/{scenario.project_id}/"), url
        video = next(v for v in scenario.videos if url.endswith("-" + v.name))
        video.task_id, video.url = int(task.id), url
    assert all(v.task_id for v in scenario.videos)
    # AND the backend queued the new videos for background embedding, and that job downloaded and embedded them
    assert _counter(scenario, "videos_prefetch_queued") == prefetch_before + N_VIDEOS, (
        f"TASKS_CREATED did not reach /webhook; LS log:\n{scenario.server.log_tail(30)}"
    )
    t0 = time.monotonic()
    assert scenario.backend.wait_for_training(TRAINING_TIMEOUT_S), "background embedding did not finish"
    print(f"[e2e] background embedding of {N_VIDEOS} videos: {time.monotonic() - t0:.1f}s")
    _assert_jobs_succeeded(scenario)


def test_predictions_are_empty_before_training(scenario: Scenario) -> None:
    # GIVEN the uploaded tasks and no annotation yet
    first = scenario.videos[0]

    # WHEN the user retrieves predictions for the first task
    _retrieve_predictions(scenario, [first.task_id])

    # THEN Label Studio stored one empty prediction with the untrained version
    predictions = _predictions(scenario, first.task_id)
    assert len(predictions) == 1, predictions
    assert predictions[0].model_version == f"{CONTROL}-untrained"
    assert predictions[0].result == []


def test_annotations_reach_the_backend_and_train_a_model(scenario: Scenario) -> None:
    # GIVEN the first three tasks annotated from ground truth, one after the other, as an annotator submits them
    queued_before = _queued(scenario)
    for n, video in enumerate(scenario.videos[:ANNOTATED], start=1):
        # WHEN the annotation is created in Label Studio (LS posts ANNOTATION_CREATED to <backend>/webhook)
        annotation = scenario.ls.annotations.create(
            id=video.task_id, result=_timeline_result(video.truth), project=scenario.project_id
        )
        assert annotation.id is not None

        # THEN the backend queued a training request for it, and the local job ran
        assert _queued(scenario) == queued_before + n, (
            f"annotation {annotation.id} (task {video.task_id}) did not reach /webhook; "
            f"LS log:\n{scenario.server.log_tail(30)}"
        )
        t0 = time.monotonic()
        assert scenario.backend.wait_for_training(TRAINING_TIMEOUT_S), "training did not finish"
        print(f"[e2e] annotation {n}: training queue drained in {time.monotonic() - t0:.1f}s")

    # AND every local job ended well, and the last one published a first version
    _assert_jobs_succeeded(scenario)
    versions = _backend_get(scenario, "/versions")
    assert any(v.startswith(f"{CONTROL}-v") for v in versions["versions"]), versions


def test_trained_model_predicts_an_unannotated_video(scenario: Scenario) -> None:
    # GIVEN a trained model and a task nobody annotated
    video = scenario.videos[-1]
    assert not _predictions(scenario, video.task_id)

    # WHEN the user retrieves predictions for it (LS calls /setup, which now reports the trained version)
    t0 = time.monotonic()
    _retrieve_predictions(scenario, [video.task_id])
    print(f"[e2e] retrieve predictions (trained, 1 task, media download + embedding) {time.monotonic() - t0:.1f}s")

    # THEN Label Studio stored a prediction from the trained version, with "square" regions
    predictions = _predictions(scenario, video.task_id)
    assert len(predictions) == 1, predictions
    prediction = predictions[0]
    assert prediction.model_version.startswith(f"{CONTROL}-v"), prediction.model_version
    regions = [r for r in prediction.result if r["from_name"] == CONTROL and r["type"] == "timelinelabels"]
    assert any(LABEL in r["value"]["timelinelabels"] for r in regions), prediction.result
    assert all(r["to_name"] == "video" for r in regions)
    predicted = regions_to_matrix(
        [TimelineValue.model_validate(r["value"]) for r in regions], [LABEL], len(video.truth)
    )[:, 0].astype(bool)
    overlap = int((predicted & video.truth).sum())
    print(
        f"[e2e] {prediction.model_version}: predicted {int(predicted.sum())} frames, "
        f"truth {int(video.truth.sum())}, overlap {overlap}"
    )
    assert overlap > 0, "the predicted square frames miss the real ones entirely"

    # AND the version Label Studio shows for the backend is the one the prediction carries
    ml = scenario.ls.ml.get(id=scenario.ml_backend_id)
    assert ml.model_version == prediction.model_version
    versions = _backend_get(scenario, "/versions")
    assert prediction.model_version in versions["versions"], versions


def test_start_training_button_trains_again(scenario: Scenario) -> None:
    # GIVEN a trained model and three annotated tasks
    jobs_before = len(scenario.backend.jobs())
    queued_before = _queued(scenario)

    # WHEN the user presses "Start Training" on the model card (LS posts START_TRAINING to /webhook, with Basic auth)
    scenario.ls.ml.train(id=scenario.ml_backend_id, request_options=SLOW)

    # THEN the backend queued a training request, and a new job ran on everything annotated
    assert _queued(scenario) == queued_before + 1, (
        f"START_TRAINING did not reach /webhook; LS log:\n{scenario.server.log_tail(30)}"
    )
    assert scenario.backend.wait_for_training(TRAINING_TIMEOUT_S), "training did not finish"
    new_jobs = scenario.backend.jobs()[jobs_before:]
    assert [j.status for j in new_jobs] == ["SUCCEEDED"], [(j.name, j.status, j.exit_code) for j in new_jobs]
    # AND Label Studio reports the backend as connected (not "Error")
    ml = scenario.ls.ml.get(id=scenario.ml_backend_id)
    assert ml.state in {"CO", "TR"}, f"ML backend state {ml.state} ({ml.readable_state}): {ml.error_message}"
