"""Coalescing training requests: per project and control, at most one job queued and one running.

Where the state lives, and why: one small JSON object per (project, control) in the same S3 bucket
(``train-state/...``), updated with S3 conditional writes (``If-Match`` on the ETag read,
``If-None-Match: *`` to create). That gives compare-and-swap without another service: no DynamoDB
table to provision, and it runs unchanged on AWS, moto and LocalStack (whose host mode cannot run
DynamoDB). Contention is tiny (one writer per annotation burst), so a read-modify-write loop with a
few retries is enough.

The rules, all decided under compare-and-swap:

- A request already seen (same ``request_id``: SQS redelivered it, or Label Studio re-sent the
  webhook), or stored before a started job took its snapshot of the records (``requested_at <=
  covered_until``), needs nothing: that job trains on it.
- If a job is queued and has not started, the request joins it: the queued job reads the records
  when it starts, so it will see this one too.
- Otherwise a new job is submitted (so a request arriving while a job runs leads to exactly one
  follow-up job). Its name is deterministic (``train-{project}-{control}-{seq}``).

The job itself moves ``queued`` to ``running`` when it starts (recording its snapshot time) and clears
``running`` when it ends (:func:`mark_started`, :func:`mark_finished`).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, Field

from functions.common import keys
from functions.common.errors import ConflictError
from functions.common.ls_models import TrainRequest
from functions.common.ports import JobSubmitter, ObjectStore

log = logging.getLogger(__name__)

MAX_REMEMBERED_REQUESTS = 500
# A queued job that Batch no longer knows after this long (it failed before it could start) is replaced.
STALE_QUEUED_S = 30 * 60
_CAS_ATTEMPTS = 20

Outcome = Literal["submitted", "coalesced", "duplicate", "covered"]


class JobRef(BaseModel):
    name: str
    job_id: str = ""
    submitted_at: float
    started_at: float | None = None
    request_ids: list[str] = Field(default_factory=list)


class TrainState(BaseModel):
    seq: int = 0
    queued: JobRef | None = None
    running: JobRef | None = None
    covered_until: float = 0.0
    recent_requests: list[str] = Field(default_factory=list)
    submitted_jobs: int = 0


@dataclass(frozen=True)
class Decision:
    outcome: Outcome
    job_name: str = ""
    job_id: str = ""


def job_name(project: str, control: str, seq: int) -> str:
    """Batch job names allow letters, digits, '-' and '_' (128 max)."""
    safe = re.sub(r"[^A-Za-z0-9_-]", "-", f"{project}-{control}")[:100]
    return f"train-{safe}-{seq}"


def prefetch_job_name(request: TrainRequest) -> str:
    safe = re.sub(r"[^A-Za-z0-9_-]", "-", request.project)[:60]
    return f"embed-{safe}-{request.request_id[:16]}"


class TrainStateStore:
    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def read(self, project: str, control: str) -> tuple[TrainState, str | None]:
        obj = self._store.get(keys.train_state(project, control))
        if obj is None:
            return TrainState(), None
        return TrainState.model_validate_json(obj.body), obj.etag

    def write(self, project: str, control: str, state: TrainState, etag: str | None) -> None:
        """Raises ConflictError when someone else wrote since ``etag`` was read."""
        body = state.model_dump_json().encode()
        if etag is None:
            self._store.put(keys.train_state(project, control), body, if_none_match=True)
        else:
            self._store.put(keys.train_state(project, control), body, if_match=etag)

    def update(
        self, project: str, control: str, change: Callable[[TrainState], TrainState | None]
    ) -> TrainState | None:
        """Compare-and-swap loop; ``change`` returns the new state, or None to write nothing."""
        for _ in range(_CAS_ATTEMPTS):
            state, etag = self.read(project, control)
            new = change(state.model_copy(deep=True))
            if new is None:
                return None
            try:
                self.write(project, control, new, etag)
                return new
            except ConflictError:
                time.sleep(0.01)
        raise ConflictError(f"train state of {project}/{control} is too contended")


def _remember(state: TrainState, request_id: str) -> None:
    state.recent_requests = [*state.recent_requests, request_id][-MAX_REMEMBERED_REQUESTS:]


def request_training(
    states: TrainStateStore,
    submitter: JobSubmitter,
    request: TrainRequest,
    *,
    clock: Callable[[], float] = time.time,
) -> Decision:
    """Submit a job for ``request`` unless a queued or started job already covers it."""
    project, control = request.project, request.control
    decided: dict[str, Decision] = {}

    def change(state: TrainState) -> TrainState | None:
        if request.request_id in state.recent_requests:
            decided["d"] = Decision("duplicate")
            return None
        if request.requested_at <= state.covered_until:
            decided["d"] = Decision("covered")
            return None
        queued = state.queued
        if queued is not None and not _stale(submitter, queued, clock()):
            queued.request_ids = [*queued.request_ids, request.request_id][-MAX_REMEMBERED_REQUESTS:]
            _remember(state, request.request_id)
            decided["d"] = Decision("coalesced", queued.name, queued.job_id)
            return state
        state.seq += 1
        state.queued = JobRef(
            name=job_name(project, control, state.seq), submitted_at=clock(), request_ids=[request.request_id]
        )
        state.submitted_jobs += 1
        _remember(state, request.request_id)
        decided["d"] = Decision("submitted", state.queued.name)
        return state

    states.update(project, control, change)
    decision = decided["d"]
    if decision.outcome != "submitted":
        log.info("%s/%s: request %s %s", project, control, request.request_id[:8], decision.outcome)
        return decision
    try:
        job_id = submitter.submit(decision.job_name, request)
    except Exception:
        _forget_queued(states, project, control, decision.job_name)
        raise
    states.update(project, control, lambda s: _with_job_id(s, decision.job_name, job_id))
    log.info("%s/%s: submitted %s (%s)", project, control, decision.job_name, job_id)
    return Decision("submitted", decision.job_name, job_id)


def _stale(submitter: JobSubmitter, queued: JobRef, now: float) -> bool:
    if now - queued.submitted_at < STALE_QUEUED_S:
        return False
    return not (queued.job_id and submitter.is_active(queued.job_id))


def _with_job_id(state: TrainState, name: str, job_id: str) -> TrainState | None:
    for ref in (state.queued, state.running):
        if ref is not None and ref.name == name:
            ref.job_id = job_id
            return state
    return None  # the job started and finished already: nothing to record


def _forget_queued(states: TrainStateStore, project: str, control: str, name: str) -> None:
    def change(state: TrainState) -> TrainState | None:
        if state.queued is None or state.queued.name != name:
            return None
        state.queued = None
        return state

    states.update(project, control, change)


def mark_started(states: TrainStateStore, project: str, control: str, name: str, *, now: float) -> None:
    """The job took its snapshot of the records at ``now``: requests stored before it are covered."""

    def change(state: TrainState) -> TrainState:
        ref = state.queued if state.queued is not None and state.queued.name == name else None
        if ref is not None:
            state.queued = None
        else:
            ref = JobRef(name=name, submitted_at=now)  # a retry, or a job started by hand
        ref.started_at = now
        state.running = ref
        state.covered_until = max(state.covered_until, now)
        return state

    states.update(project, control, change)


def mark_finished(states: TrainStateStore, project: str, control: str, name: str) -> None:
    def change(state: TrainState) -> TrainState | None:
        if state.running is None or state.running.name != name:
            return None
        state.running = None
        return state

    states.update(project, control, change)
