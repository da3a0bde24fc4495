"""Typed Label Studio payloads (parsed once, unknown keys ignored) and our own messages.

Shapes follow ``shared/docs/label-studio-contract.md`` (observed with Label Studio 1.23.2).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator


class _LS(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def project_id(raw: str | int | dict[str, Any] | None) -> str:
    """Label Studio sends the project as ``"<id>.<created-at>"`` in /setup and /predict, as an int or an
    object in webhooks: the id is what keys everything."""
    if raw is None:
        return ""
    if isinstance(raw, dict):
        raw = raw.get("id", "")
    return str(raw).split(".", 1)[0]


# ---------------------------------------------------------------- /setup, /predict
class SetupRequest(_LS):
    project: str = ""
    schema_: str = Field(default="", alias="schema")
    hostname: str = ""
    access_token: str = ""
    extra_params: dict[str, Any] | None = None

    @field_validator("project", mode="before")
    @classmethod
    def _to_str(cls, v: Any) -> str:
        return "" if v is None else str(v)


class SetupResponse(_LS):
    model_version: str


class Task(_LS):
    id: int
    data: dict[str, Any] = Field(default_factory=dict)
    project: int | None = None


class PredictRequest(_LS):
    tasks: list[Task] = Field(min_length=1)
    project: str = ""
    label_config: str = ""
    params: dict[str, Any] | None = None

    @field_validator("project", mode="before")
    @classmethod
    def _to_str(cls, v: Any) -> str:
        return "" if v is None else str(v)


class Range(_LS):
    """1-based, both ends inclusive, in Label Studio frames (``frameRate`` of the Video tag)."""

    start: int
    end: int


class TimelineValue(_LS):
    ranges: list[Range]
    timelinelabels: list[str]


class RegionResult(_LS):
    id: str = ""
    type: str
    from_name: str
    to_name: str
    value: dict[str, Any]
    score: float | None = None
    origin: str | None = None


class Prediction(_LS):
    model_version: str
    score: float = 0.0
    result: list[RegionResult] = Field(default_factory=list)


class PredictResponse(_LS):
    results: list[Prediction]


# ---------------------------------------------------------------- /webhook
class Annotation(_LS):
    id: int
    task: int | dict[str, Any] | None = None
    project: int | None = None
    updated_at: str = ""
    was_cancelled: bool = False
    result: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def task_id(self) -> int | None:
        if isinstance(self.task, dict):
            value = self.task.get("id")
            return int(value) if value is not None else None
        return self.task


class ProjectRef(_LS):
    id: int | str | None = None
    label_config: str = ""


class WebhookEvent(_LS):
    """Every project event arrives here; ``annotation``/``task`` are lists for the bulk actions."""

    action: str
    annotation: Annotation | list[Annotation] | None = None
    annotations: list[dict[str, Any]] | None = None
    task: Task | list[Task] | None = None
    tasks: list[Task] | None = None
    project: ProjectRef | None = None

    def annotation_list(self) -> list[Annotation]:
        if self.annotation is None:
            return []
        return self.annotation if isinstance(self.annotation, list) else [self.annotation]

    def task_list(self) -> list[Task]:
        if self.task is None:
            return []
        return self.task if isinstance(self.task, list) else [self.task]


class WebhookResponse(_LS):
    status: str
    action: str
    queued: int = 0
    detail: str = ""


# ---------------------------------------------------------------- our own messages
class EmbedItem(_LS):
    """A video whose embeddings a background job should compute into the cache."""

    url: str
    frame_rate: float
    hostname: str = ""


PREFETCH_CONTROL = "__prefetch__"


class TrainRequest(_LS):
    """One SQS message: 'the training data of this control changed, please (re)train', or, with
    ``embed`` set, 'compute these videos' embeddings' (new tasks, or videos too long for /predict)."""

    project: str
    control: str
    reason: str
    request_id: str
    requested_at: float = Field(description="unix seconds, when the data change was stored")
    label_config: str = ""
    hostname: str = ""
    embed: list[EmbedItem] = Field(default_factory=list)


class TrainingRecord(_LS):
    """What one submitted annotation teaches, stored per annotation id (an update replaces it)."""

    project: str
    annotation_id: int
    task_id: int
    updated_at: str = ""
    media_url: str
    hostname: str = ""
    task_data: dict[str, Any] = Field(default_factory=dict)
    # control name -> its timelinelabels regions (1-based inclusive ranges)
    regions: dict[str, list[TimelineValue]] = Field(default_factory=dict)
    stored_at: float = 0.0


class EpochMetrics(_LS):
    epoch: int
    loss: float
    f1: float | None = None


class CheckpointMeta(_LS):
    """Everything needed to rebuild and judge a checkpoint without unpickling anything."""

    version: int
    lineage: str
    project: str
    control: str
    labels: list[str]
    params: dict[str, Any]
    embedder_id: str
    embedding_dim: int
    created_at: float
    trained_on: list[dict[str, Any]] = Field(default_factory=list)
    metrics: dict[str, Any] = Field(default_factory=dict)
    timings: dict[str, float] = Field(default_factory=dict)
    promoted: bool = True
    not_promoted_reason: str = ""
    warm_started_from: int | None = None


class LatestPointer(_LS):
    version: int
    heldout_f1: float | None = None
    labels: list[str] = Field(default_factory=list)
    lineage: str = ""
    updated_at: float = 0.0


class VersionInfo(_LS):
    project: str
    control: str
    version: int
    model_version: str
    latest: bool
    metrics: dict[str, Any] = Field(default_factory=dict)
    promoted: bool = True


class VersionsResponse(_LS):
    versions: list[str]
    details: list[VersionInfo] = Field(default_factory=list)


class HealthResponse(_LS):
    status: Literal["UP"] = "UP"
    model_class: str = "VideoFrameClassifier"
