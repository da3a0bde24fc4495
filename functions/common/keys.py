"""S3 key layout: every object name the backend reads or writes is built here.

Layout (all under one bucket)::

    embeddings/{embedder_id}/fr{frame_rate}/{content_sha256}.npz   per-frame features + probabilities
    media-index/{sha256(host + media url)}.json                    media URL -> content hash, size
    records/{project}/{annotation_id}.json                         one training record per annotation
    projects/{project}/label_config.json                           last label config seen (PROJECT_UPDATED)
    checkpoints/{project}/{control}/v{N}/model.pt                  LSTM state_dict
    checkpoints/{project}/{control}/v{N}/meta.json                 labels, params, metrics, lineage
    checkpoints/{project}/{control}/latest.json                    pointer, moved last, conditionally
    train-state/{project}/{control}.json                           job coalescing state (conditional writes)
"""

from __future__ import annotations

import hashlib
import re

_SAFE = re.compile(r"[^A-Za-z0-9._=-]")


def _part(value: object) -> str:
    """A key segment: Label Studio names are user text, so keep only URL- and S3-safe characters."""
    text = str(value)
    cleaned = _SAFE.sub("_", text)
    if cleaned != text:
        # Distinct names must not collide once cleaned ("a b" vs "a_b").
        cleaned = f"{cleaned}~{hashlib.sha256(text.encode()).hexdigest()[:8]}"
    return cleaned


def frame_rate_tag(frame_rate: float) -> str:
    """'25', '29.97': enough digits that distinct Label Studio frame rates never share a cache entry."""
    return f"{frame_rate:.6g}"


def embedding(embedder_id: str, frame_rate: float, content_sha256: str) -> str:
    return f"embeddings/{_part(embedder_id)}/fr{frame_rate_tag(frame_rate)}/{content_sha256}.npz"


def media_index(media_identity: str) -> str:
    return f"media-index/{hashlib.sha256(media_identity.encode()).hexdigest()}.json"


def record(project: str, annotation_id: int) -> str:
    return f"records/{_part(project)}/{int(annotation_id)}.json"


def records_prefix(project: str) -> str:
    return f"records/{_part(project)}/"


def project_config(project: str) -> str:
    return f"projects/{_part(project)}/label_config.json"


def checkpoints_root(project: str | None = None) -> str:
    return f"checkpoints/{_part(project)}/" if project else "checkpoints/"


def checkpoint_owner(key: str) -> tuple[str, str] | None:
    """(project, control) segments of a key under ``checkpoints/``."""
    parts = key.split("/")
    return (parts[1], parts[2]) if len(parts) >= 4 and parts[0] == "checkpoints" else None


def checkpoints_prefix(project: str, control: str) -> str:
    return f"checkpoints/{_part(project)}/{_part(control)}/"


def checkpoint_weights(project: str, control: str, version: int) -> str:
    return f"{checkpoints_prefix(project, control)}v{int(version)}/model.pt"


def checkpoint_meta(project: str, control: str, version: int) -> str:
    return f"{checkpoints_prefix(project, control)}v{int(version)}/meta.json"


def latest_pointer(project: str, control: str) -> str:
    return f"{checkpoints_prefix(project, control)}latest.json"


def train_state(project: str, control: str) -> str:
    return f"train-state/{_part(project)}/{_part(control)}.json"


_VERSION_IN_META = re.compile(r"/v(\d+)/meta\.json$")


def version_from_meta_key(key: str) -> int | None:
    match = _VERSION_IN_META.search(key)
    return int(match.group(1)) if match else None
