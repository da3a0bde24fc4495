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
