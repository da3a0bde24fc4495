"""The S3 key layout."""

import pytest

from functions.common import keys

pytestmark = pytest.mark.unit


def test_embedding_key_has_embedder_frame_rate_and_content():
    # GIVEN one video content hash, two frame rates and two embedders
    k = keys.embedding("ball-cls-abc-i64", 25, "f" * 64)
    # THEN each part shows in the key, and a change of any gives another key
    assert k == f"embeddings/ball-cls-abc-i64/fr25/{'f' * 64}.npz"
    assert keys.embedding("ball-cls-abc-i64", 29.97, "f" * 64) != k
    assert keys.embedding("other-i64", 25, "f" * 64) != k
    assert keys.embedding("ball-cls-abc-i64", 25, "e" * 64) != k


def test_frame_rate_tag_keeps_fractional_rates_apart():
    assert keys.frame_rate_tag(24) == "24"
    assert keys.frame_rate_tag(23.976) != keys.frame_rate_tag(24)


def test_unsafe_names_are_cleaned_without_collisions():
    a = keys.latest_pointer("1", "video labels")
    b = keys.latest_pointer("1", "video_labels")
    assert " " not in a and a != b


def test_version_from_meta_key_and_owner():
    key = keys.checkpoint_meta("7", "ctl", 12)
    assert keys.version_from_meta_key(key) == 12
    assert keys.checkpoint_owner(key) == ("7", "ctl")
    assert keys.version_from_meta_key(keys.latest_pointer("7", "ctl")) is None


def test_media_index_is_a_hash():
    assert keys.media_index("http://ls/data/upload/1/a.mp4").startswith("media-index/")
    assert keys.media_index("a") != keys.media_index("b")
