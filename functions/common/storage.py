"""Domain stores over the :class:`~functions.common.ports.ObjectStore` port: key layout + encoding.

- :class:`EmbeddingCache`: per-frame embeddings by video content, and a media-URL index onto them.
- :class:`CheckpointStore`: immutable versions (``v{N}``) and a ``latest`` pointer moved last.
- :class:`RecordStore`: one training record per annotation id, and the project's last label config.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from functions.common import keys
from functions.common.errors import ConflictError, NotFoundError
from functions.common.features import Embeddings
from functions.common.ls_models import CheckpointMeta, LatestPointer, TrainingRecord
from functions.common.ports import ObjectStore

log = logging.getLogger(__name__)


def _dump(model: BaseModel) -> bytes:
    return model.model_dump_json().encode()


@dataclass(frozen=True)
class MediaEntry:
    content_sha256: str
    size: int


def media_identity(url: str, hostname: str) -> str:
    """What names a media file across requests: relative Label Studio URLs are only unique per host."""
    return url if "://" in url else f"{hostname.rstrip('/')}{url}"


class EmbeddingCache:
    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def lookup_media(self, identity: str) -> MediaEntry | None:
        obj = self._store.get(keys.media_index(identity))
        if obj is None:
            return None
        data = json.loads(obj.body)
        return MediaEntry(content_sha256=data["content_sha256"], size=int(data["size"]))

    def remember_media(self, identity: str, entry: MediaEntry) -> None:
        body = {"identity": identity, "content_sha256": entry.content_sha256, "size": entry.size}
        self._store.put(keys.media_index(identity), json.dumps(body).encode())

    def load(self, embedder_id: str, frame_rate: float, content_sha256: str) -> Embeddings | None:
        obj = self._store.get(keys.embedding(embedder_id, frame_rate, content_sha256))
        return None if obj is None else Embeddings.from_bytes(obj.body)

    def save(self, content_sha256: str, embeddings: Embeddings) -> None:
        key = keys.embedding(embeddings.embedder_id, embeddings.frame_rate, content_sha256)
        self._store.put(key, embeddings.to_bytes())


class CheckpointStore:
    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def latest(self, project: str, control: str) -> LatestPointer | None:
        obj = self._store.get(keys.latest_pointer(project, control))
        return None if obj is None else LatestPointer.model_validate_json(obj.body)

    def meta(self, project: str, control: str, version: int) -> CheckpointMeta:
        obj = self._store.get(keys.checkpoint_meta(project, control, version))
        if obj is None:
            raise NotFoundError(f"no checkpoint v{version} for project {project}, control {control}")
        return CheckpointMeta.model_validate_json(obj.body)

    def weights(self, project: str, control: str, version: int) -> bytes:
        obj = self._store.get(keys.checkpoint_weights(project, control, version))
        if obj is None:
            raise NotFoundError(f"checkpoint v{version} of {project}/{control} has no weights")
        return obj.body

    def version_numbers(self, project: str, control: str) -> list[int]:
        found = (
            keys.version_from_meta_key(k) for k in self._store.list_keys(keys.checkpoints_prefix(project, control))
        )
        return sorted(v for v in found if v is not None)

    def versions(self, project: str, control: str) -> list[CheckpointMeta]:
        return [self.meta(project, control, v) for v in self.version_numbers(project, control)]

    def write_version(self, meta: CheckpointMeta, weights: bytes) -> None:
        """Weights first, then metadata, both create-only: a version, once visible, never changes.

        Raises:
            ConflictError: another job already wrote this version number.
        """
        self._store.put(keys.checkpoint_weights(meta.project, meta.control, meta.version), weights, if_none_match=True)
        self._store.put(keys.checkpoint_meta(meta.project, meta.control, meta.version), _dump(meta), if_none_match=True)

    def move_latest(self, project: str, control: str, pointer: LatestPointer, *, force: bool = False) -> bool:
        """Point ``latest`` at ``pointer.version`` with a compare-and-swap on the current pointer.

        Without ``force`` an older version never replaces a newer one (a slow job finishing late).
        Returns False when the pointer already names a newer version.
        """
        key = keys.latest_pointer(project, control)
        for _ in range(10):
            current = self._store.get(key)
            if current is not None and not force:
                if LatestPointer.model_validate_json(current.body).version >= pointer.version:
                    return False
            try:
                if current is None:
                    self._store.put(key, _dump(pointer), if_none_match=True)
                else:
                    self._store.put(key, _dump(pointer), if_match=current.etag)
                return True
            except ConflictError:
                log.info("latest pointer of %s/%s moved under us; retrying", project, control)
        raise ConflictError(f"could not move latest pointer of {project}/{control}: too much contention")


class RecordStore:
    def __init__(self, store: ObjectStore) -> None:
        self._store = store

    def put(self, record: TrainingRecord) -> None:
        self._store.put(keys.record(record.project, record.annotation_id), _dump(record))

    def get(self, project: str, annotation_id: int) -> TrainingRecord | None:
        obj = self._store.get(keys.record(project, annotation_id))
        return None if obj is None else TrainingRecord.model_validate_json(obj.body)

    def delete(self, project: str, annotation_id: int) -> TrainingRecord | None:
        """Remove and return the record (None when there was none: a skipped task, or simple mode)."""
        record = self.get(project, annotation_id)
        if record is not None:
            self._store.delete(keys.record(project, annotation_id))
        return record

    def list(self, project: str) -> list[TrainingRecord]:
        records = []
        for key in self._store.list_keys(keys.records_prefix(project)):
            obj = self._store.get(key)
            if obj is not None:
                records.append(TrainingRecord.model_validate_json(obj.body))
        return records

    def put_project_config(self, project: str, label_config: str) -> None:
        body = {"label_config": label_config, "stored_at": time.time()}
        self._store.put(keys.project_config(project), json.dumps(body).encode())

    def project_config(self, project: str) -> dict[str, Any] | None:
        obj = self._store.get(keys.project_config(project))
        return None if obj is None else dict(json.loads(obj.body))
