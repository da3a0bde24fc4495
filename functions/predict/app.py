"""FastAPI application factory; domain errors map to HTTP codes here, in one table."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from functions.common.errors import (
    AuthError,
    BackendError,
    ConflictError,
    LabelConfigError,
    MediaAuthError,
    MediaError,
    ModelLoadError,
    NotFoundError,
    StorageError,
)
from functions.common.logs import configure_logging
from functions.common.settings import Settings, get_settings
from functions.predict.routes import router

log = logging.getLogger(__name__)

# Most specific first: the first matching class decides the status.
STATUS_BY_ERROR: list[tuple[type[BackendError], int]] = [
    (AuthError, 401),
    (LabelConfigError, 400),
    (MediaAuthError, 424),  # Label Studio refused *our* credentials: fix the backend's settings
    (MediaError, 422),
    (NotFoundError, 404),
    (ConflictError, 409),
    (ModelLoadError, 500),
    (StorageError, 503),
    (BackendError, 500),
]


def status_for(exc: BackendError) -> int:
    return next(code for cls, code in STATUS_BY_ERROR if isinstance(exc, cls))


async def _backend_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BackendError)
    status = status_for(exc)
    log.log(
        logging.ERROR if status >= 500 else logging.WARNING,
        "%s %s -> %d: %s",
        request.method,
        request.url.path,
        status,
        exc,
    )
    headers = {"WWW-Authenticate": "Basic"} if status == 401 else None
    return JSONResponse({"detail": str(exc), "error": type(exc).__name__}, status_code=status, headers=headers)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Reads settings now, so a missing or unsafe value fails the cold start, not the first request."""
    settings = settings or get_settings()
    configure_logging(settings.log_level)
    app = FastAPI(title="Video frame classifier: Label Studio ML backend", version="0.1.0")
    app.include_router(router)
    app.add_exception_handler(BackendError, _backend_error)
    return app
