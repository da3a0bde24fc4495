"""Fetching task media: Label Studio paths with the right credential, size cap, errors naming settings."""

from pathlib import Path

import httpx
import pytest

from functions.common.adapters.media_source import MediaSource
from functions.common.errors import MediaAuthError, MediaError, MediaTooLargeError

pytestmark = pytest.mark.unit


def source(handler, **kwargs) -> MediaSource:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return MediaSource(s3_client=None, max_bytes=kwargs.pop("max_bytes", 1000), http=http, **kwargs)


def test_upload_path_uses_the_configured_key(tmp_path: Path):
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["url"], seen["auth"] = str(request.url), request.headers.get("authorization")
        return httpx.Response(200, content=b"video-bytes")

    media = source(handler, label_studio_url="http://ls:8080", label_studio_api_key="legacykey123")
    out = media.fetch("/data/upload/1/a.mp4", tmp_path / "v", hostname="http://other:9", access_token="setup-token")
    assert out.read_bytes() == b"video-bytes"
    assert seen == {"url": "http://ls:8080/data/upload/1/a.mp4", "auth": "Token legacykey123"}


def test_falls_back_to_setup_hostname_and_token(tmp_path: Path):
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["url"], seen["auth"] = str(request.url), request.headers.get("authorization")
        return httpx.Response(200, content=b"x")

    source(handler).fetch(
        "/data/local-files/?d=videos/a.mp4", tmp_path / "v", hostname="http://localhost:8080", access_token="tok"
    )
    assert seen == {"url": "http://localhost:8080/data/local-files/?d=videos/a.mp4", "auth": "Token tok"}


def test_foreign_hosts_get_no_credentials(tmp_path: Path):
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen["auth"] = request.headers.get("authorization")
        return httpx.Response(200, content=b"x")

    source(handler, label_studio_url="http://ls:8080", label_studio_api_key="k").fetch(
        "https://cdn.example/v.mp4", tmp_path / "v"
    )
    assert seen["auth"] is None


def test_401_names_the_setting_to_fix(tmp_path: Path):
    media = source(lambda request: httpx.Response(401), label_studio_url="http://ls:8080", label_studio_api_key="k")
    with pytest.raises(MediaAuthError, match="LABEL_STUDIO_API_KEY"):
        media.fetch("/data/upload/1/a.mp4", tmp_path / "v")


def test_relative_path_without_any_label_studio_url(tmp_path: Path):
    with pytest.raises(MediaError, match="LABEL_STUDIO_URL"):
        source(lambda request: httpx.Response(200)).fetch("/data/upload/1/a.mp4", tmp_path / "v")


def test_size_cap_leaves_no_partial_file(tmp_path: Path):
    media = source(lambda request: httpx.Response(200, content=b"x" * 5000), max_bytes=1000)
    with pytest.raises(MediaTooLargeError, match="MAX_VIDEO_MB"):
        media.fetch("http://ls/v.mp4", tmp_path / "v")
    assert list(tmp_path.iterdir()) == []


def test_unsupported_scheme(tmp_path: Path):
    with pytest.raises(MediaError, match="unsupported"):
        source(lambda request: httpx.Response(200)).fetch("ftp://x/v.mp4", tmp_path / "v")
