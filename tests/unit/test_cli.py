"""Rolling the latest pointer back to an earlier version."""

import pytest

from functions.common.errors import NotFoundError
from functions.common.ls_models import LatestPointer
from functions.common.storage import CheckpointStore
from functions.train.cli import rollback
from tests.fakes.memory import InMemoryObjectStore
from tests.unit.test_storage import meta

pytestmark = pytest.mark.unit


def test_rollback_points_latest_at_an_earlier_version():
    store = CheckpointStore(InMemoryObjectStore())
    for v, f1 in ((1, 0.7), (2, 0.9)):
        store.write_version(meta(v, metrics={"heldout_f1": f1}), b"w")
    store.move_latest("1", "c", LatestPointer(version=2, heldout_f1=0.9, labels=["a"]))
    pointer = rollback(store, "1", "c", 1)
    assert store.latest("1", "c") == pointer and pointer.version == 1 and pointer.heldout_f1 == 0.7
    with pytest.raises(NotFoundError):
        rollback(store, "1", "c", 9)
