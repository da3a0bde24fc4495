"""What the ML backend does for each route, over ports only (no FastAPI, no boto3 here).

Heavy pieces (the YOLO embedder, torch for the LSTM) load on first use, so /health and /setup stay
cheap: Label Studio calls them before every prediction request with 1 s and 3 s timeouts.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from functions.common import keys
from functions.common.embeddings import EmbeddingProvider
from functions.common.errors import BackendError, EmbeddingDeferred, LabelConfigError, MediaError
from functions.common.label_config import (
    ClassifierParams,
    ControlSpec,
    check_simple_classes,
    config_hash,
    parse_label_config,
)
from functions.common.ls_models import (
    PREFETCH_CONTROL,
    EmbedItem,
    LatestPointer,
    Prediction,
    PredictRequest,
    PredictResponse,
    RegionResult,
    SetupRequest,
    SetupResponse,
    Task,
    TrainRequest,
    VersionInfo,
    VersionsResponse,
    project_id,
)
from functions.common.model_card import ModelCard
from functions.common.ports import FrameEmbedder, ObjectStore, TrainQueue, VideoSource
from functions.common.settings import Settings
from functions.common.storage import CheckpointStore, RecordStore

if TYPE_CHECKING:
    from functions.common.features import Embeddings

log = logging.getLogger(__name__)

UNTRAINED = "untrained"


@dataclass
class Backend:
    """Everything the routes need, wired once per process (see ``deps.py``)."""

    settings: Settings
    objects: ObjectStore
    media: VideoSource
    model_card: Callable[[], ModelCard]
    embedder: Callable[[], FrameEmbedder]
    queue: TrainQueue | None = None
    clock: Callable[[], float] = time.monotonic
    # project id -> (hostname, access_token) from the last /setup: /predict carries neither.
    connections: dict[str, tuple[str, str]] = field(default_factory=dict)
    _models: dict[tuple[str, str, int], Any] = field(default_factory=dict)
    embeddings: EmbeddingProvider = field(init=False)

    def __post_init__(self) -> None:
        self.embeddings = EmbeddingProvider(
            objects=self.objects,
            media=self.media,
            model_card=self.model_card,
            embedder=self.embedder,
            work_dir=self.settings.work_dir,
            fps_estimate=self.settings.embed_fps_estimate,
        )

    @property
    def counters(self) -> Counter[str]:
        return self.embeddings.counters

    @property
    def checkpoints(self) -> CheckpointStore:
        return CheckpointStore(self.objects)

    @property
    def records(self) -> RecordStore:
        return RecordStore(self.objects)


# ---------------------------------------------------------------- model versions
def _simple_version(backend: Backend, spec: ControlSpec) -> str:
    # The config part changes when labels, threshold or class mapping change, so Label Studio
    # re-predicts tasks whose stored prediction came from another setting.
    spec_hash = hashlib.sha256(spec.model_dump_json().encode()).hexdigest()[:6]
    return f"{spec.name}-{backend.model_card().short_id}-c{spec_hash}"


def trained_version(control: str, pointer: LatestPointer) -> str:
    """What Label Studio shows annotators about a model: its version and, once known, held-out F1."""
    version = f"{control}-v{pointer.version}"
    if pointer.heldout_f1 is not None:
        version += f"-f1-{pointer.heldout_f1:.2f}"
    return version


def _usable_pointer(backend: Backend, project: str, spec: ControlSpec) -> LatestPointer | None:
    pointer = backend.checkpoints.latest(project, spec.name)
    if pointer is None or list(pointer.labels) != list(spec.labels):
        # A changed label set starts a new lineage: the old model would predict the wrong labels.
        return None
    return pointer


def _control_version(backend: Backend, project: str, spec: ControlSpec) -> tuple[str, LatestPointer | None]:
    if not spec.trainable:
        return _simple_version(backend, spec), None
    pointer = _usable_pointer(backend, project, spec)
    return (trained_version(spec.name, pointer), pointer) if pointer else (f"{spec.name}-{UNTRAINED}", None)


def _join(versions: list[str]) -> str:
    return "+".join(versions)


def _parse(label_config: str, project: str) -> tuple[ControlSpec, ...]:
    try:
        return parse_label_config(label_config)
    except LabelConfigError as exc:
        log.warning("project %s: label config rejected: %s", project or "?", exc)
        raise


def _check_classes(specs: tuple[ControlSpec, ...], class_names: list[str] | None) -> None:
    if class_names is None:
        return
    for spec in specs:
        if not spec.trainable:
            check_simple_classes(spec, class_names)


# ---------------------------------------------------------------- /setup
def setup(backend: Backend, request: SetupRequest) -> SetupResponse:
    project = project_id(request.project)
    specs = _parse(request.schema_, project)
    card = backend.model_card()
    try:
        _check_classes(specs, list(card.class_names) if card.class_names else None)
    except LabelConfigError as exc:
        log.warning("project %s: label config rejected: %s", project, exc)
        raise
    if request.hostname or request.access_token:
        backend.connections[project] = (request.hostname, request.access_token)
    version = _join([_control_version(backend, project, spec)[0] for spec in specs])
    log.info("project %s: setup ok, model_version %s", project, version)
    return SetupResponse(model_version=version)


# ---------------------------------------------------------------- /predict
def _threshold(backend: Backend, spec: ControlSpec, trained: bool) -> float:
    if spec.score_threshold is not None:
        return spec.score_threshold
    return 0.5 if trained else backend.settings.default_score_threshold


def _simple_probs(spec: ControlSpec, embeddings: Embeddings) -> Any:
    import numpy as np

    mapping = check_simple_classes(spec, embeddings.class_names)
    probs = embeddings.probs.astype(np.float32)
    # Several model classes for one label: the label is as present as its most likely class.
    return np.stack([probs[:, idx].max(axis=1) for idx in mapping.values()], axis=1)


def _trained_model(backend: Backend, project: str, spec: ControlSpec, pointer: LatestPointer) -> tuple[Any, int]:
    """(LSTM, window size) of the version the pointer names, loaded once per warm process."""
    key = (project, spec.name, pointer.version)
    if key not in backend._models:
        from functions.common.lstm import load_model  # torch: only once a trained control is predicted

        meta = backend.checkpoints.meta(project, spec.name, pointer.version)
        params = ClassifierParams.model_validate(meta.params)
        weights = backend.checkpoints.weights(project, spec.name, pointer.version)
        model = load_model(weights, meta.embedding_dim, len(meta.labels), params)
        # Keep only the newest version per control in the warm process.
        for old in [k for k in backend._models if k[:2] == key[:2]]:
            del backend._models[old]
        backend._models[key] = (model, params.sequence_size)
        log.info("project %s: loaded checkpoint %s v%d", project, spec.name, pointer.version)
    return backend._models[key]  # type: ignore[no-any-return]


def _predict_control(
    backend: Backend, project: str, spec: ControlSpec, pointer: LatestPointer | None, embeddings: Embeddings
) -> tuple[list[RegionResult], float]:
    from functions.common.timeline import confidence, probs_to_regions

    if spec.trainable:
        assert pointer is not None
        from functions.common.lstm import predict_probs

        model, window = _trained_model(backend, project, spec, pointer)
        probs = predict_probs(model, embeddings.features, window)
    else:
        probs = _simple_probs(spec, embeddings)
    threshold = _threshold(backend, spec, spec.trainable)
    regions = probs_to_regions(probs, spec.labels, threshold, from_name=spec.name, to_name=spec.to_name)
    return regions, confidence(probs, threshold)


def predict(backend: Backend, request: PredictRequest) -> PredictResponse:
    """One prediction per task, in task order, inside PREDICT_BUDGET_S.

    A task not reached in time, or whose video would take longer to embed than the time left, is
    answered with a ``-pending`` version: it differs from /setup's, so the next "Retrieve predictions"
    redoes it. Videos left over are queued for a background job that fills the embedding cache,
    so the retry is fast however long the video is.
    """
    started = backend.clock()
    project = project_id(request.project)
    specs = _parse(request.label_config, project)
    hostname, token = backend.connections.get(project, (backend.settings.label_studio_url, ""))
    controls = [(spec, *_control_version(backend, project, spec)) for spec in specs]
    version = _join([v for _, v, _ in controls])
    active = [(spec, pointer) for spec, _, pointer in controls if not spec.trainable or pointer is not None]
    results: list[Prediction] = []
    failures: list[BackendError] = []
    deferred: list[EmbedItem] = []
    for task in request.tasks:
        if not active:
            results.append(Prediction(model_version=version, score=0.0, result=[]))
            continue
        remaining = backend.settings.predict_budget_s - (backend.clock() - started)
        try:
            if remaining <= 0:
                raise EmbeddingDeferred("", 0.0, 0.0)
            results.append(_predict_task(backend, project, task, active, version, hostname, token, remaining))
        except EmbeddingDeferred as exc:
            backend.counters["tasks_pending"] += 1
            if exc.url:
                deferred.append(EmbedItem(url=exc.url, frame_rate=exc.frame_rate, hostname=hostname))
            else:  # out of time before this task started
                deferred.extend(embed_items(task, [spec for spec, _ in active], hostname))
            results.append(Prediction(model_version=f"{version}-pending", score=0.0, result=[]))
        except (MediaError, LabelConfigError) as exc:
            log.warning("project %s task %s: %s", project, task.id, exc)
            failures.append(exc)
            results.append(Prediction(model_version=f"{version}-error", score=0.0, result=[]))
    if failures and len(failures) == len(request.tasks):
        raise failures[0]  # nothing to store: tell the caller what to fix
    if deferred:
        queue_prefetch(backend, project, deferred, reason="PREDICT_DEFERRED")
    backend.counters["tasks_predicted"] += len(request.tasks)
    log.info(
        "project %s: predicted %d tasks (config %s) in %.2fs",
        project,
        len(request.tasks),
        config_hash(request.label_config),
        backend.clock() - started,
    )
    return PredictResponse(results=results)


def embed_items(task: Task, specs: Sequence[ControlSpec], hostname: str) -> list[EmbedItem]:
    """The videos a task needs, one per (media URL, frame rate) of its controls."""
    items: dict[tuple[str, float], EmbedItem] = {}
    for spec in specs:
        url = task.data.get(spec.value_key)
        if isinstance(url, str) and url:
            try:
                rate = spec.frame_rate_for(task.data)
            except LabelConfigError:
                continue
            items[(url, rate)] = EmbedItem(url=url, frame_rate=rate, hostname=hostname)
    return list(items.values())


def queue_prefetch(backend: Backend, project: str, items: list[EmbedItem], *, reason: str) -> bool:
    """One background job request that embeds ``items`` into the cache (never raises: best effort)."""
    if backend.queue is None or not items:
        return False
    request_id = hashlib.sha256("|".join(sorted(f"{i.url}@{i.frame_rate:g}" for i in items)).encode()).hexdigest()[:32]
    try:
        backend.queue.send(
            TrainRequest(
                project=project,
                control=PREFETCH_CONTROL,
                reason=reason,
                request_id=request_id,
                requested_at=time.time(),
                embed=items,
            )
        )
    except BackendError as exc:
        log.warning("project %s: could not queue embedding of %d videos: %s", project, len(items), exc)
        return False
    backend.counters["videos_prefetch_queued"] += len(items)
    log.info("project %s: %d videos queued for background embedding (%s)", project, len(items), reason)
    return True


def _predict_task(
    backend: Backend,
    project: str,
    task: Task,
    active: list[tuple[ControlSpec, LatestPointer | None]],
    version: str,
    hostname: str,
    token: str,
    budget_s: float,
) -> Prediction:
    regions: list[RegionResult] = []
    scores: list[float] = []
    for spec, pointer in active:
        url = task.data.get(spec.value_key)
        if not isinstance(url, str) or not url:
            raise MediaError(
                f'task {task.id} has no "{spec.value_key}" in its data (from <Video value="${spec.value_key}">)'
            )
        embeddings = backend.embeddings.get(
            url, spec.frame_rate_for(task.data), hostname=hostname, access_token=token, budget_s=budget_s
        )
        found, score = _predict_control(backend, project, spec, pointer, embeddings)
        regions.extend(found)
        scores.append(score)
    return Prediction(model_version=version, score=round(min(scores), 4), result=regions)


# ---------------------------------------------------------------- /versions, /metrics
def list_versions(backend: Backend, project: str | None = None) -> VersionsResponse:
    """Checkpoint versions with their metrics; Label Studio sends no project id, so all by default."""
    details: list[VersionInfo] = []
    keys_found = backend.objects.list_keys(keys.checkpoints_root(project))
    pairs = sorted({pair for k in keys_found if (pair := keys.checkpoint_owner(k)) is not None})
    for proj, control in pairs:
        pointer = backend.checkpoints.latest(proj, control)
        for meta in backend.checkpoints.versions(proj, control):
            heldout = meta.metrics.get("heldout_f1")
            name = trained_version(control, LatestPointer(version=meta.version, heldout_f1=heldout))
            details.append(
                VersionInfo(
                    project=proj,
                    control=control,
                    version=meta.version,
                    model_version=name,
                    latest=pointer is not None and pointer.version == meta.version,
                    metrics=meta.metrics,
                    promoted=meta.promoted,
                )
            )
    return VersionsResponse(versions=[d.model_version for d in details], details=details)


def metrics(backend: Backend) -> dict[str, Any]:
    return {"counters": dict(backend.counters), "checkpoints_in_memory": len(backend._models)}
