"""Settings fail at start with a message that names the variable."""

import pytest
from pydantic import ValidationError

from functions.common.settings import Settings

pytestmark = pytest.mark.unit


def test_bucket_is_required(monkeypatch):
    monkeypatch.delenv("BUCKET_NAME", raising=False)
    with pytest.raises(ValidationError, match="bucket_name"):
        Settings()


def test_reads_environment(monkeypatch):
    monkeypatch.setenv("BUCKET_NAME", "my-bucket")
    monkeypatch.setenv("PREDICT_BUDGET_S", "80")
    s = Settings()
    assert s.bucket_name == "my-bucket" and s.predict_budget_s == 80


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"basic_auth_user": "u"}, "BASIC_AUTH_PASSWORD"),
        ({"yolo_model": "https://example.com/x.pt"}, "YOLO_MODEL"),
        ({"label_studio_url": "localhost:8080"}, "LABEL_STUDIO_URL"),
        ({"batch_job_queue": "q"}, "BATCH_JOB_DEFINITION"),
    ],
)
def test_unsafe_or_incomplete_config_is_refused(kwargs, needle):
    with pytest.raises(ValidationError, match=needle):
        Settings(bucket_name="my-bucket", **kwargs)
