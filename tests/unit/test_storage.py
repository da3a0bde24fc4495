"""Domain stores over the in-memory object store: write-once versions, a pointer that never goes back."""

import pytest

from functions.common.errors import ConflictError
from functions.common.ls_models import CheckpointMeta, LatestPointer, TrainingRecord
from functions.common.storage import CheckpointStore, RecordStore
from tests.fakes.memory import InMemoryObjectStore

pytestmark = pytest.mark.unit


def meta(version: int, **fields: object) -> CheckpointMeta:
    """Metadata of version ``version`` of project "1", control "c" (shared with other store tests)."""
    base = {
        "lineage": "L1",
        "project": "1",
        "control": "c",
        "labels": ["a"],
        "params": {},
        "embedder_id": "e",
        "embedding_dim": 4,
        "created_at": 0.0,
    }
    return CheckpointMeta.model_validate({**base, "version": version, **fields})


def test_versions_are_write_once():
    store = CheckpointStore(InMemoryObjectStore())
    store.write_version(meta(1), b"w1")
    with pytest.raises(ConflictError):
        store.write_version(meta(1), b"other")
    assert store.weights("1", "c", 1) == b"w1"
    assert store.version_numbers("1", "c") == [1]


def test_latest_pointer_never_moves_back_unless_forced():
    store = CheckpointStore(InMemoryObjectStore())
    assert store.move_latest("1", "c", LatestPointer(version=2))
    # WHEN an older job finishes late
    assert not store.move_latest("1", "c", LatestPointer(version=1))
    assert store.latest("1", "c").version == 2
    # WHEN a person rolls back on purpose
    assert store.move_latest("1", "c", LatestPointer(version=1), force=True)
    assert store.latest("1", "c").version == 1


def test_records_update_replaces_and_delete_returns_the_record():
    records = RecordStore(InMemoryObjectStore())
    rec = TrainingRecord(project="1", annotation_id=5, task_id=9, media_url="/data/upload/1/a.mp4")
    records.put(rec)
    records.put(rec.model_copy(update={"updated_at": "later"}))
    assert [r.updated_at for r in records.list("1")] == ["later"]
    assert records.delete("1", 5).task_id == 9
    assert records.list("1") == [] and records.delete("1", 5) is None
