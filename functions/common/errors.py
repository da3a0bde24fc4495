"""Domain errors. Adapters translate client errors into these; the API maps them to HTTP codes."""

from __future__ import annotations


class BackendError(Exception):
    """Base class: every error the backend raises on purpose."""


class LabelConfigError(BackendError):
    """The labeling config cannot be used; the message names the tag/attribute to change."""


class MediaError(BackendError):
    """A task's video cannot be fetched or decoded; the message names the input or setting to fix."""


class MediaAuthError(MediaError):
    """Label Studio refused our credentials while downloading media."""


class MediaTooLargeError(MediaError):
    """The video is bigger than MAX_VIDEO_MB."""


class EmbeddingDeferred(BackendError):
    """Embedding this video would not finish inside the request's time budget; a background job
    computes it instead and the task is answered as pending."""

    def __init__(self, url: str, frame_rate: float, estimated_s: float) -> None:
        super().__init__(f"{url}: about {estimated_s:.0f} s of embedding, over the request budget")
        self.url, self.frame_rate, self.estimated_s = url, frame_rate, estimated_s


class NotFoundError(BackendError):
    """An object the caller asked for does not exist (checkpoint version, record...)."""


class ConflictError(BackendError):
    """A conditional write lost a race (S3 precondition failed)."""


class StorageError(BackendError):
    """The object store or queue failed in a way the caller cannot fix."""


class ModelLoadError(BackendError):
    """The YOLO weights in YOLO_MODEL (or a checkpoint) cannot be loaded."""


class AuthError(BackendError):
    """Missing or wrong credentials on the HTTP API."""
