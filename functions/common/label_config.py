"""The labeling config, read with label-studio-sdk's LabelInterface, reduced to what we act on.

Every ``<TimelineLabels>`` whose ``toName`` is a ``<Video>`` becomes a :class:`ControlSpec`. Errors
name the tag and attribute the user must change, because Label Studio only shows /setup failures.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from functions.common.errors import LabelConfigError

DEFAULT_FRAME_RATE = 24.0

_CLASSIFIER_ATTRS: dict[str, tuple[str, type, float, float]] = {
    # attribute -> (ClassifierParams field, type, min, max)
    "model_classifier_epochs": ("epochs", int, 1, 10_000),
    "model_classifier_sequence_size": ("sequence_size", int, 2, 4096),
    "model_classifier_hidden_size": ("hidden_size", int, 1, 4096),
    "model_classifier_num_layers": ("num_layers", int, 1, 16),
    "model_classifier_f1_threshold": ("f1_threshold", float, 0.0, 1.0),
    "model_classifier_accuracy_threshold": ("accuracy_threshold", float, 0.0, 1.0),
}
# model_path is accepted (reference configs carry it) but not used: the weights come from YOLO_MODEL, so
# every control of a deployment shares one embedding cache identity.
_OTHER_ATTRS = {"model_trainable", "model_score_threshold", "model_path", "model_skip"}
KNOWN_MODEL_ATTRS = frozenset(_CLASSIFIER_ATTRS) | _OTHER_ATTRS
_TRUE = {"true", "1", "yes"}
_FALSE = {"false", "0", "no", ""}


class ClassifierParams(BaseModel):
    """Trainable-mode hyperparameters, from ``model_classifier_*`` (defaults as the reference backend)."""

    model_config = ConfigDict(frozen=True)

    epochs: int = 100
    sequence_size: int = 16
    hidden_size: int = 32
    num_layers: int = 1
    f1_threshold: float = 0.95
    accuracy_threshold: float = 1.0


class ControlSpec(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    to_name: str
    value_key: str  # task.data key holding the media URL (``<Video value="$video">`` -> "video")
    labels: list[str]
    trainable: bool
    frame_rate: float | None = None  # None: read from task data
    frame_rate_field: str | None = None
    score_threshold: float | None = None
    predicted_values: dict[str, list[str]] = Field(default_factory=dict)
    params: ClassifierParams = ClassifierParams()

    def frame_rate_for(self, task_data: dict[str, Any]) -> float:
        """``frameRate`` of the Video tag, resolving ``$field`` against the task's data."""
        if self.frame_rate is not None:
            return self.frame_rate
        raw = task_data.get(self.frame_rate_field or "")
        try:
            value = float(raw)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise LabelConfigError(
                f'<Video name="{self.to_name}" frameRate="${self.frame_rate_field}">: task data has no numeric '
                f'"{self.frame_rate_field}" (got {raw!r})'
            ) from None
        if not 0 < value <= 1000:
            raise LabelConfigError(f'task data "{self.frame_rate_field}" must be a frame rate in (0, 1000]')
        return value

    def classes_for(self, label: str) -> list[str]:
        """Model classes that count as ``label`` in simple mode (``predicted_values``, else the label)."""
        return self.predicted_values.get(label) or [label]


def config_hash(xml: str) -> str:
    return hashlib.sha256(xml.encode()).hexdigest()[:16]


def _tag(control: Any) -> str:
    return f'<TimelineLabels name="{control.name}">'


def _bool_attr(control: Any, attr: str) -> bool:
    raw = str(control.attr.get(attr, "")).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise LabelConfigError(f'{_tag(control)}: {attr}="{raw}" must be "true" or "false"')


def _number_attr(control: Any, attr: str, kind: type, lo: float, hi: float) -> float | int | None:
    raw = control.attr.get(attr)
    if raw is None or str(raw).strip() == "":
        return None
    try:
        value = kind(str(raw).strip())
    except ValueError:
        raise LabelConfigError(
            f'{_tag(control)}: {attr}="{raw}" must be a{"n integer" if kind is int else " number"}'
        ) from None
    if not lo <= value <= hi:
        raise LabelConfigError(f'{_tag(control)}: {attr}="{raw}" must be between {lo:g} and {hi:g}')
    return value  # type: ignore[no-any-return]


def _video_frame_rate(control: Any, video: Any) -> tuple[float | None, str | None]:
    raw = str(video.attr.get("frameRate", "")).strip()
    if not raw:
        return DEFAULT_FRAME_RATE, None
    if raw.startswith("$"):
        return None, raw[1:]
    try:
        value = float(raw)
    except ValueError:
        raise LabelConfigError(f'<Video name="{video.name}">: frameRate="{raw}" must be a number or $field') from None
    if not 0 < value <= 1000:
        raise LabelConfigError(f'<Video name="{video.name}">: frameRate="{raw}" must be in (0, 1000]')
    del control
    return value, None


def _parse_control(control: Any) -> ControlSpec | None:
    unknown = sorted(a for a in control.attr if a.startswith("model_") and a not in KNOWN_MODEL_ATTRS)
    if unknown:
        raise LabelConfigError(
            f"{_tag(control)}: unknown attribute {unknown[0]}; known: {', '.join(sorted(KNOWN_MODEL_ATTRS))}"
        )
    if _bool_attr(control, "model_skip"):
        return None
    videos = [o for o in control.objects if o.tag.lower() == "video"]
    if not videos:
        return None
    video = videos[0]
    value = str(video.value or "")
    if not value.startswith("$"):
        raise LabelConfigError(f'<Video name="{video.name}">: value="{value}" must name task data, like "$video"')
    labels = list(control.labels)
    if not labels:
        raise LabelConfigError(f"{_tag(control)}: add at least one <Label value=...>")
    frame_rate, frame_rate_field = _video_frame_rate(control, video)
    params = {
        field: got
        for attr, (field, kind, lo, hi) in _CLASSIFIER_ATTRS.items()
        if (got := _number_attr(control, attr, kind, lo, hi)) is not None
    }
    threshold = _number_attr(control, "model_score_threshold", float, 0.0, 1.0)
    predicted = {
        label: [v.strip() for v in str(tag.attr.get("predicted_values", "")).split(",") if v.strip()]
        for label, tag in (control.labels_attrs or {}).items()
    }
    return ControlSpec(
        name=control.name,
        to_name=video.name,
        value_key=value[1:],
        labels=labels,
        trainable=_bool_attr(control, "model_trainable"),
        frame_rate=frame_rate,
        frame_rate_field=frame_rate_field,
        score_threshold=None if threshold is None else float(threshold),
        predicted_values={k: v for k, v in predicted.items() if v},
        params=ClassifierParams.model_validate(params),
    )


@lru_cache(maxsize=256)
def parse_label_config(xml: str) -> tuple[ControlSpec, ...]:
    """All usable video timeline controls of a labeling config.

    Raises:
        LabelConfigError: the config is not XML, or has no usable control, or an attribute is invalid.
    """
    # Imported here: label-studio-sdk costs ~1 s to import and /health must not pay it.
    from label_studio_sdk.label_interface.interface import LabelInterface

    if not xml or not xml.strip():
        raise LabelConfigError("the labeling config is empty")
    try:
        interface = LabelInterface(xml)
    except Exception as exc:  # the SDK raises bare parser errors of several kinds
        raise LabelConfigError(f"the labeling config cannot be parsed: {exc}") from exc
    specs = []
    for control in interface.controls:
        if control.tag != "TimelineLabels":
            continue
        spec = _parse_control(control)
        if spec is not None:
            specs.append(spec)
    if not specs:
        raise LabelConfigError(
            'no usable control: add <TimelineLabels name="..." toName="..."> pointing at a '
            '<Video name="..." value="$video" frameRate="..."> (and without model_skip="true")'
        )
    return tuple(specs)


def check_simple_classes(spec: ControlSpec, class_names: list[str]) -> dict[str, list[int]]:
    """Class indices per label for simple mode; case-insensitive exact names.

    Raises:
        LabelConfigError: a label matches no class of the model (names ``predicted_values`` to fix it).
    """
    index = {name.lower(): i for i, name in enumerate(class_names)}
    mapping: dict[str, list[int]] = {}
    for label in spec.labels:
        wanted = spec.classes_for(label)
        found = [index[c.lower()] for c in wanted if c.lower() in index]
        if not found:
            sample = ", ".join(class_names[:8]) + (", ..." if len(class_names) > 8 else "")
            raise LabelConfigError(
                f'<Label value="{label}"> in <TimelineLabels name="{spec.name}">: no class of the model is named '
                f'{" or ".join(repr(w) for w in wanted)}; set predicted_values="<model class>, ..." '
                f'(model classes: {sample}) or model_trainable="true"'
            )
        mapping[label] = found
    return mapping
