"""Project events from Label Studio: store what trains the model, queue training, answer fast.

Label Studio waits 1 s for a webhook and, without Redis, delivers it inside the annotator's own
Submit request, so this does two small S3/SQS calls per annotation and never trains here.
"""

from __future__ import annotations

import hashlib
import logging
import time
import uuid

from functions.common.errors import AuthError, LabelConfigError
from functions.common.label_config import ControlSpec, parse_label_config
from functions.common.ls_models import (
    Annotation,
    Task,
    TimelineValue,
    TrainingRecord,
    TrainRequest,
    WebhookEvent,
    WebhookResponse,
    project_id,
)
from functions.common.timeline import TIMELINE_TYPE
from functions.predict.service import Backend, embed_items, queue_prefetch

log = logging.getLogger(__name__)

ANNOTATION_ACTIONS = {"ANNOTATION_CREATED", "ANNOTATION_UPDATED", "ANNOTATIONS_CREATED"}


def _trainable(label_config: str, project: str) -> list[ControlSpec]:
    try:
        return [s for s in parse_label_config(label_config) if s.trainable]
    except LabelConfigError as exc:
        log.warning("project %s: webhook ignored, label config unusable: %s", project, exc)
        return []


def _request_id(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:32]


def _queue(backend: Backend, project: str, controls: set[str], reason: str, request_id: str, label_config: str) -> int:
    if backend.queue is None:
        log.warning("project %s: TRAIN_QUEUE_URL is not set; training request dropped", project)
        return 0
    hostname = backend.connections.get(project, ("", ""))[0]
    for control in sorted(controls):
        backend.queue.send(
            TrainRequest(
                project=project,
                control=control,
                reason=reason,
                request_id=_request_id(request_id, control),
                requested_at=time.time(),
                label_config=label_config,
                hostname=hostname,
            )
        )
    backend.counters["train_requests_queued"] += len(controls)
    return len(controls)


def _record(
    project: str, annotation: Annotation, task: Task, specs: list[ControlSpec], hostname: str
) -> TrainingRecord | None:
    by_name = {s.name: s for s in specs}
    url = next((task.data.get(s.value_key) for s in specs if isinstance(task.data.get(s.value_key), str)), None)
    if not url:
        log.warning("project %s task %s: no media URL in task data; annotation not stored", project, task.id)
        return None
    regions: dict[str, list[TimelineValue]] = {name: [] for name in by_name}
    for item in annotation.result:
        name = item.get("from_name")
        # Annotations can hold regions of other controls: keep only trainable timeline labels.
        if name in by_name and item.get("type") == TIMELINE_TYPE and isinstance(item.get("value"), dict):
            value = TimelineValue.model_validate(item["value"])
            regions[name].append(
                value.model_copy(
                    update={"timelinelabels": [x for x in value.timelinelabels if x in by_name[name].labels]}
                )
            )
    return TrainingRecord(
        project=project,
        annotation_id=annotation.id,
        task_id=task.id,
        updated_at=annotation.updated_at,
        media_url=url,
        hostname=hostname,
        task_data=task.data,
        regions=regions,
        stored_at=time.time(),
    )


def _pairs(event: WebhookEvent) -> list[tuple[Annotation, Task | None]]:
    annotations = event.annotation_list()
    tasks = {t.id: t for t in event.task_list()}
    return [(a, tasks.get(a.task_id) if a.task_id is not None else None) for a in annotations]


def _on_annotations(backend: Backend, event: WebhookEvent, project: str, label_config: str) -> WebhookResponse:
    specs = _trainable(label_config, project)
    if not specs:
        return WebhookResponse(status="ignored", action=event.action, detail="no trainable control")
    hostname = backend.connections.get(project, ("", ""))[0]
    stored: set[str] = set()
    for annotation, task in _pairs(event):
        if task is None:
            log.warning("project %s annotation %s: event has no task; not stored", project, annotation.id)
            continue
        if annotation.was_cancelled:
            backend.records.delete(project, annotation.id)  # a skipped task teaches nothing
            continue
        record = _record(project, annotation, task, specs, hostname)
        if record is None:
            continue
        backend.records.put(record)
        stored.add(_request_id(annotation.id, annotation.updated_at))
    if not stored:
        return WebhookResponse(status="ignored", action=event.action, detail="nothing to store")
    queued = _queue(backend, project, {s.name for s in specs}, event.action, "|".join(sorted(stored)), label_config)
    return WebhookResponse(status="queued", action=event.action, queued=queued)


def _on_deleted(backend: Backend, event: WebhookEvent, project: str, label_config: str) -> WebhookResponse:
    controls: set[str] = set()
    for item in event.annotations or []:
        if "id" not in item:
            continue
        record = backend.records.delete(project, int(item["id"]))
        if record is not None:
            controls.update(record.regions)
    if not controls:
        return WebhookResponse(status="ignored", action=event.action, detail="no stored record")
    queued = _queue(backend, project, controls, event.action, uuid.uuid4().hex, label_config)
    return WebhookResponse(status="queued", action=event.action, queued=queued)


def _on_tasks_created(backend: Backend, event: WebhookEvent, project: str, label_config: str) -> WebhookResponse:
    """New tasks: have a background job embed their videos before anyone opens them, so the first
    /predict of each is a cache read (on a GPU, for a whole import at once)."""
    if not backend.settings.prefetch_on_import:
        return WebhookResponse(status="ignored", action=event.action, detail="PREFETCH_ON_IMPORT is off")
    try:
        specs = parse_label_config(label_config)
    except LabelConfigError:
        return WebhookResponse(status="ignored", action=event.action, detail="label config unusable")
    hostname = backend.connections.get(project, ("", ""))[0]
    items = [item for task in (event.tasks or []) for item in embed_items(task, specs, hostname)]
    queued = queue_prefetch(backend, project, items, reason=event.action)
    return WebhookResponse(status="queued" if queued else "ignored", action=event.action, queued=int(queued))


# Without Basic auth configured, Label Studio sends START_TRAINING with no credential at all. It adds no
# data (it retrains on stored records) and the submitter coalesces it, so it is let in unproven.
UNPROVEN_ALLOWED = {"START_TRAINING"}


def accept_webhook(backend: Backend, event: WebhookEvent, *, trusted: bool = True) -> tuple[int, WebhookResponse]:
    """Returns (HTTP status, body): 201 when training was queued, 200 otherwise.

    Raises:
        AuthError: an event that changes training data came without X-Webhook-Secret / Basic auth.
    """
    project = project_id(event.project.id if event.project else None)
    if not trusted and not (event.action in UNPROVEN_ALLOWED and not backend.settings.basic_auth_enabled):
        log.warning("project %s: webhook %s rejected: missing or wrong X-Webhook-Secret", project, event.action)
        raise AuthError("missing or wrong X-Webhook-Secret header")
    if not project:
        annotations = event.annotation_list()
        project = str(annotations[0].project) if annotations and annotations[0].project else ""
    label_config = event.project.label_config if event.project else ""
    if event.action in ANNOTATION_ACTIONS:
        response = _on_annotations(backend, event, project, label_config)
    elif event.action == "ANNOTATIONS_DELETED":
        response = _on_deleted(backend, event, project, label_config)
    elif event.action == "START_TRAINING":
        specs = _trainable(label_config, project)
        queued = _queue(backend, project, {s.name for s in specs}, event.action, uuid.uuid4().hex, label_config)
        response = WebhookResponse(status="queued" if queued else "ignored", action=event.action, queued=queued)
    elif event.action == "TASKS_CREATED":
        response = _on_tasks_created(backend, event, project, label_config)
    elif event.action == "PROJECT_UPDATED" and label_config:
        # The next job compares labels with the latest checkpoint; a changed set starts a new lineage.
        backend.records.put_project_config(project, label_config)
        response = WebhookResponse(status="noted", action=event.action)
    else:
        response = WebhookResponse(status="ignored", action=event.action)
    log.info("project %s: webhook %s -> %s (%d queued)", project, event.action, response.status, response.queued)
    return (201 if response.queued else 200), response
