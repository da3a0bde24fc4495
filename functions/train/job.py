"""AWS Batch entrypoint: ``python -m functions.train.job`` fine-tunes one control's LSTM.

The request comes in ``TRAIN_REQUEST`` (JSON, set by the submitter's container overrides) and the
job's name in ``TRAIN_JOB_NAME``. Exit codes: 0 done (trained, or nothing to do yet), 1 a failure worth
retrying (storage, network), 2 a request or config that no retry can fix.

Versions are written whole (weights, then metadata, both create-only) before ``latest`` moves with a
conditional write, so readers never see a half-written version, and an older job never overwrites a
newer pointer.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from functions.common.adapters.batch_submitter import TRAIN_JOB_NAME_ENV, TRAIN_REQUEST_ENV
from functions.common.embeddings import EmbeddingProvider
from functions.common.errors import BackendError, ConflictError, LabelConfigError, MediaError
from functions.common.label_config import ClassifierParams, ControlSpec, parse_label_config
from functions.common.ls_models import CheckpointMeta, LatestPointer, TrainingRecord, TrainRequest
from functions.common.ports import ObjectStore
from functions.common.settings import Settings
from functions.common.storage import CheckpointStore, RecordStore
from functions.common.timeline import regions_to_matrix
from functions.train.coalescer import TrainStateStore, mark_finished, mark_started
from functions.train.trainer import FitResult, Sample, evaluate, fit, split_heldout

log = logging.getLogger("functions.train.job")

EXIT_OK, EXIT_RETRY, EXIT_BAD_REQUEST = 0, 1, 2
# A new version whose held-out F1 is this much below the current model's, on the same held-out
# tasks, is kept but not promoted.
PROMOTION_MARGIN = 0.05


@dataclass
class JobResult:
    status: str  # "trained", "skipped"
    version: int | None = None
    promoted: bool = False
    detail: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)


def _current_config(records: RecordStore, request: TrainRequest) -> str:
    stored = records.project_config(request.project)
    if stored and float(stored.get("stored_at", 0)) > request.requested_at:
        return str(stored["label_config"])  # PROJECT_UPDATED arrived after this request
    return request.label_config or (str(stored["label_config"]) if stored else "")


def _control(label_config: str, name: str) -> ControlSpec | None:
    return next((s for s in parse_label_config(label_config) if s.name == name and s.trainable), None)


def _latest_per_task(records: list[TrainingRecord], control: str) -> list[TrainingRecord]:
    """Several annotations of one task: the most recently stored one teaches."""
    by_task: dict[int, TrainingRecord] = {}
    for record in sorted(records, key=lambda r: (r.stored_at, r.updated_at)):
        if control in record.regions:
            by_task[record.task_id] = record
    return [by_task[k] for k in sorted(by_task)]


def _samples(
    spec: ControlSpec, records: list[TrainingRecord], embeddings: EmbeddingProvider, hostname: str
) -> list[Sample]:
    samples = []
    for record in records:
        try:
            emb = embeddings.get(
                record.media_url, spec.frame_rate_for(record.task_data), hostname=record.hostname or hostname
            )
        except (MediaError, LabelConfigError) as exc:
            log.warning("task %s skipped: %s", record.task_id, exc)
            continue
        targets = regions_to_matrix(record.regions.get(spec.name, []), spec.labels, emb.num_frames)
        samples.append(Sample(task_id=record.task_id, features=emb.features, targets=targets))
    return samples


def _architecture(meta: CheckpointMeta) -> tuple[Any, ...]:
    params = ClassifierParams(**meta.params)
    return (tuple(meta.labels), params.hidden_size, params.num_layers, meta.embedder_id, meta.embedding_dim)


def run_job(
    request: TrainRequest,
    *,
    settings: Settings,
    objects: ObjectStore,
    embeddings: EmbeddingProvider,
    job_name: str,
    device: str = "cpu",
    clock: Any = time.time,
) -> JobResult:
    """Train on every annotated task of the control and publish a new version."""
    from functions.common.lstm import load_model, state_to_bytes

    started = time.perf_counter()
    states = TrainStateStore(objects)
    records_store, checkpoints = RecordStore(objects), CheckpointStore(objects)
    project, control = request.project, request.control
    mark_started(states, project, control, job_name, now=clock())
    try:
        spec = _control(_current_config(records_store, request), control)
        if spec is None:
            return JobResult("skipped", detail=f"control {control} is not trainable in the current label config")
        records = _latest_per_task(records_store.list(project), control)
        if len(records) < settings.train_min_tasks:
            detail = f"{len(records)} annotated task(s); training starts at TRAIN_MIN_TASKS={settings.train_min_tasks}"
            log.info("%s/%s: %s", project, control, detail)
            return JobResult("skipped", detail=detail)
        t0 = time.perf_counter()
        samples = _samples(spec, records, embeddings, request.hostname)
        embed_s = time.perf_counter() - t0
        if len(samples) < settings.train_min_tasks:
            raise MediaError(f"only {len(samples)} of {len(records)} annotated videos could be read")
        embedder_id = embeddings.model_card().embedder_id
        dim = int(samples[0].features.shape[1])

        previous = checkpoints.latest(project, control)
        prev_meta = checkpoints.meta(project, control, previous.version) if previous else None
        new_arch = (tuple(spec.labels), spec.params.hidden_size, spec.params.num_layers, embedder_id, dim)
        warm = prev_meta is not None and _architecture(prev_meta) == new_arch
        init_state = None
        prev_model = None
        if warm:
            assert prev_meta is not None and previous is not None
            prev_model = load_model(
                checkpoints.weights(project, control, previous.version),
                dim,
                len(spec.labels),
                ClassifierParams(**prev_meta.params),
            )
            init_state = {k: v.clone() for k, v in prev_model.state_dict().items()}
        train, heldout = split_heldout(samples)
        log.info(
            "%s/%s: %d tasks (%d train, %d held out), %s, embeddings %.1fs",
            project,
            control,
            len(samples),
            len(train),
            len(heldout),
            f"warm start from v{previous.version}" if warm and previous else "new lineage",
            embed_s,
        )

        def on_epoch(entry: dict[str, float]) -> None:
            log.info(
                "epoch %d loss %.4f val_f1 %.3f val_acc %.3f",
                entry["epoch"],
                entry["loss"],
                entry["f1"],
                entry["accuracy"],
            )

        result: FitResult = fit(
            train,
            heldout,
            spec.params,
            num_labels=len(spec.labels),
            max_epochs=settings.train_max_epochs,
            seed=settings.train_seed,
            init_state=init_state,
            device=device,
            on_epoch=on_epoch,
        )
        promoted, reason = True, ""
        if prev_model is not None and heldout and "heldout_f1" in result.metrics:
            current_f1 = evaluate(prev_model, heldout, spec.params.sequence_size)["f1"]
            result.metrics["previous_heldout_f1_same_tasks"] = current_f1
            if result.metrics["heldout_f1"] < current_f1 - PROMOTION_MARGIN:
                promoted = False
                prev_name = f"v{previous.version}" if previous else "the current version"
                reason = (
                    f"held-out F1 {result.metrics['heldout_f1']:.3f} is below {prev_name}'s "
                    f"{current_f1:.3f} on the same held-out tasks"
                )
        lineage = prev_meta.lineage if warm and prev_meta else f"{control}-{uuid.uuid4().hex[:8]}"
        weights = state_to_bytes(result.model)
        timings = {
            "embed_s": round(embed_s, 3),
            "fit_s": float(result.metrics["fit_seconds"]),
            "per_epoch_s": round(float(result.metrics["fit_seconds"]) / max(1, result.metrics["epochs_run"]), 4),
        }
        version = _publish(
            checkpoints,
            CheckpointMeta(
                version=0,
                lineage=lineage,
                project=project,
                control=control,
                labels=spec.labels,
                params=spec.params.model_dump(),
                embedder_id=embedder_id,
                embedding_dim=dim,
                created_at=time.time(),
                trained_on=[
                    {"annotation_id": r.annotation_id, "task_id": r.task_id, "updated_at": r.updated_at}
                    for r in records
                ],
                metrics={**result.metrics, "history": result.history},
                timings=timings,
                promoted=promoted,
                not_promoted_reason=reason,
                warm_started_from=previous.version if warm and previous else None,
            ),
            weights,
            started,
        )
        if promoted:
            pointer = LatestPointer(
                version=version,
                heldout_f1=result.metrics.get("heldout_f1"),
                labels=spec.labels,
                lineage=lineage,
                updated_at=time.time(),
            )
            promoted = checkpoints.move_latest(project, control, pointer)
        log.info(
            "%s/%s: v%d written (%s) in %.1fs; metrics %s",
            project,
            control,
            version,
            "latest" if promoted else f"not promoted: {reason or 'a newer version is latest'}",
            time.perf_counter() - started,
            {k: v for k, v in result.metrics.items() if not isinstance(v, list)},
        )
        return JobResult("trained", version=version, promoted=promoted, detail=reason, metrics=result.metrics)
    finally:
        mark_finished(states, project, control, job_name)


def run_prefetch(request: TrainRequest, embeddings: EmbeddingProvider) -> JobResult:
    """Fill the embedding cache for new tasks or for videos too long for /predict's budget."""
    done = failed = 0
    for item in request.embed:
        try:
            embeddings.get(item.url, item.frame_rate, hostname=item.hostname or request.hostname)
            done += 1
        except MediaError as exc:
            failed += 1
            log.warning("%s: not embedded: %s", item.url, exc)
    detail = f"{done} videos embedded or already cached, {failed} failed"
    if failed and not done:
        raise MediaError(detail)
    return JobResult("embedded", detail=detail)


def _publish(checkpoints: CheckpointStore, meta: CheckpointMeta, weights: bytes, started: float) -> int:
    """Write the next free version number (create-only writes settle races between jobs)."""
    for _ in range(10):
        version = max(checkpoints.version_numbers(meta.project, meta.control), default=0) + 1
        timings = {**meta.timings, "total_s": round(time.perf_counter() - started, 3)}
        try:
            checkpoints.write_version(meta.model_copy(update={"version": version, "timings": timings}), weights)
            return version
        except ConflictError:
            log.info("version v%d was taken by another job; trying the next", version)
    raise ConflictError("could not find a free version number")


def main(argv: list[str] | None = None) -> int:
    from functions.common.adapters.media_source import media_source
    from functions.common.adapters.s3_store import S3ObjectStore
    from functions.common.aws import Clients
    from functions.common.embedder import pick_device
    from functions.common.logs import configure_logging
    from functions.common.secrets import resolve_secrets
    from functions.common.settings import get_settings
    from functions.common.wiring import lazy_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--request", help="TrainRequest JSON (default: $TRAIN_REQUEST)")
    args = parser.parse_args(argv)
    configure_logging("INFO")
    try:
        raw = args.request or os.environ.get(TRAIN_REQUEST_ENV, "")
        request = TrainRequest.model_validate_json(raw)
    except ValueError as exc:
        log.error("no valid training request in --request or $%s: %s", TRAIN_REQUEST_ENV, exc)
        return EXIT_BAD_REQUEST
    try:
        clients = Clients()
        settings = resolve_secrets(get_settings(), clients.ssm)
        configure_logging(settings.log_level)
        device = pick_device(settings.torch_device)
        model = lazy_model(settings, clients)
        objects = S3ObjectStore(clients.s3, settings.bucket_name)
        provider = EmbeddingProvider(
            objects=objects,
            media=media_source(settings, clients),
            model_card=model.card,
            embedder=model.embedder,
            work_dir=settings.work_dir,
        )
        name = os.environ.get(TRAIN_JOB_NAME_ENV) or f"manual-{uuid.uuid4().hex[:8]}"
        if request.embed:
            result = run_prefetch(request, provider)
        else:
            result = run_job(
                request, settings=settings, objects=objects, embeddings=provider, job_name=name, device=device
            )
    except LabelConfigError as exc:
        log.error("label config unusable: %s", exc)
        return EXIT_BAD_REQUEST
    except BackendError as exc:
        log.exception("training failed (will be retried): %s", exc)
        return EXIT_RETRY
    log.info("job %s: %s %s", name, result.status, result.detail)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
