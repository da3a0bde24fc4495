"""VideoSource adapter: Label Studio uploads/local files (with auth), ``s3://`` and plain http(s).

Label Studio serves ``/data/upload/...`` only to authenticated callers. The configured
``LABEL_STUDIO_API_KEY`` (a personal access token or a legacy token; label-studio-sdk tells them
apart and refreshes access tokens) is preferred; /setup's legacy ``access_token`` is the fallback.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from functions.common.adapters.s3_store import download_s3_uri
from functions.common.aws import Clients
from functions.common.errors import MediaAuthError, MediaError, MediaTooLargeError
from functions.common.settings import Settings

log = logging.getLogger(__name__)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


class MediaSource:
    def __init__(
        self,
        *,
        s3_client: Any,
        label_studio_url: str = "",
        label_studio_api_key: str = "",
        max_bytes: int,
        timeout_s: float = 60.0,
        http: httpx.Client | None = None,
    ) -> None:
        self._s3 = s3_client
        self._ls_url = label_studio_url.rstrip("/")
        self._api_key = label_studio_api_key
        self._max_bytes = max_bytes
        self._http = http or httpx.Client(timeout=httpx.Timeout(timeout_s, connect=5.0), follow_redirects=True)
        self._sdk_client: Any = None

    def _configured_auth(self) -> str:
        if self._sdk_client is None:
            from label_studio_sdk.client import LabelStudio

            self._sdk_client = LabelStudio(base_url=self._ls_url, api_key=self._api_key)  # type: ignore[no-untyped-call]
        # The SDK's header builder exchanges a personal access token for a short-lived access token
        # (and refreshes it), or sends a legacy key as "Token <key>".
        return str(self._sdk_client._client_wrapper.get_headers()["Authorization"])

    def _resolve(self, url: str, hostname: str, access_token: str) -> tuple[str, dict[str, str], str]:
        """(absolute url, headers, name of the setting that holds the credential used)."""
        base = self._ls_url or hostname.rstrip("/")
        if url.startswith("/"):
            if not base:
                raise MediaError(f"{url} is a Label Studio path but LABEL_STUDIO_URL is not set")
            url = base + url
        ls_origins = {_origin(b) for b in (self._ls_url, hostname) if b}
        if _origin(url) not in ls_origins:
            return url, {}, ""
        if self._ls_url and self._api_key:
            return url, {"Authorization": self._configured_auth()}, "LABEL_STUDIO_API_KEY"
        if access_token:
            return url, {"Authorization": f"Token {access_token}"}, "the project's legacy token from /setup"
        return url, {}, ""

    def fetch(self, url: str, dest: Path, *, hostname: str = "", access_token: str = "") -> Path:
        if url.startswith("s3://"):
            return download_s3_uri(self._s3, url, dest, max_bytes=self._max_bytes)
        if not url.startswith(("/", "http://", "https://")):
            raise MediaError(f"unsupported media URL {url!r}: use /data/..., s3://... or http(s)://...")
        absolute, headers, credential = self._resolve(url, hostname, access_token)
        dest.parent.mkdir(parents=True, exist_ok=True)
        part = dest.with_suffix(dest.suffix + ".part")
        try:
            with self._http.stream("GET", absolute, headers=headers) as resp:
                if resp.status_code in (401, 403):
                    hint = f"{credential} was refused" if credential else "no credential was sent"
                    raise MediaAuthError(
                        f"Label Studio answered {resp.status_code} for {url}: {hint}; set LABEL_STUDIO_URL and "
                        "LABEL_STUDIO_API_KEY (a personal access token from Account & Settings) on the backend"
                    )
                if resp.status_code >= 400:
                    raise MediaError(f"downloading {url} failed: HTTP {resp.status_code}")
                size = 0
                with part.open("wb") as fh:
                    for chunk in resp.iter_bytes(1 << 20):
                        size += len(chunk)
                        if size > self._max_bytes:
                            raise MediaTooLargeError(f"{url} is larger than MAX_VIDEO_MB ({self._max_bytes} bytes)")
                        fh.write(chunk)
        except httpx.HTTPError as exc:
            raise MediaError(
                f"downloading {url} failed: {exc}; is LABEL_STUDIO_URL reachable from the backend?"
            ) from exc
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        part.rename(dest)
        log.info("downloaded %s (%d bytes)", url, size)
        return dest


def media_source(settings: Settings, clients: Clients) -> MediaSource:
    return MediaSource(
        s3_client=clients.s3,
        label_studio_url=settings.label_studio_url,
        label_studio_api_key=settings.label_studio_api_key.get_secret_value(),
        max_bytes=settings.max_video_mb * 1024 * 1024,
    )
