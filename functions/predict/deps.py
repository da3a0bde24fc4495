"""Wiring for the predict function: settings, clients and adapters, built once per process."""

from __future__ import annotations

import logging
import secrets
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, Header
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from functions.common.adapters.media_source import media_source
from functions.common.adapters.s3_store import S3ObjectStore
from functions.common.adapters.sqs_queue import SqsTrainQueue
from functions.common.aws import Clients
from functions.common.errors import AuthError
from functions.common.secrets import resolve_secrets
from functions.common.settings import Settings, get_settings
from functions.common.wiring import lazy_model
from functions.predict.service import Backend

log = logging.getLogger(__name__)


def build_backend(settings: Settings, clients: Clients) -> Backend:
    """Adapters around the clients; the model card and the embedder load on first use."""
    model = lazy_model(settings, clients)
    return Backend(
        settings=settings,
        objects=S3ObjectStore(clients.s3, settings.bucket_name),
        media=media_source(settings, clients),
        model_card=model.card,
        embedder=model.embedder,
        queue=SqsTrainQueue(clients.sqs, settings.train_queue_url) if settings.train_queue_url else None,
    )


@lru_cache(maxsize=1)
def get_backend() -> Backend:
    clients = Clients()
    return build_backend(resolve_secrets(get_settings(), clients.ssm), clients)


def get_backend_settings(backend: Annotated[Backend, Depends(get_backend)]) -> Settings:
    return backend.settings


BackendDep = Annotated[Backend, Depends(get_backend)]
SettingsDep = Annotated[Settings, Depends(get_backend_settings)]

_basic = HTTPBasic(auto_error=False)


def _basic_ok(settings: Settings, credentials: HTTPBasicCredentials | None) -> bool:
    if credentials is None:
        return False
    user_ok = secrets.compare_digest(credentials.username.encode(), settings.basic_auth_user.encode())
    password = settings.basic_auth_password.get_secret_value().encode()
    return user_ok & secrets.compare_digest(credentials.password.encode(), password)


def require_basic_auth(
    settings: SettingsDep, credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)]
) -> None:
    """HTTP Basic on the routes Label Studio sends credentials to, when both user and password are set."""
    if settings.basic_auth_enabled and not _basic_ok(settings, credentials):
        raise AuthError("wrong or missing HTTP Basic credentials")


def webhook_trusted(
    settings: SettingsDep,
    credentials: Annotated[HTTPBasicCredentials | None, Depends(_basic)],
    x_webhook_secret: Annotated[str | None, Header()] = None,
) -> bool:
    """Whether a /webhook call proved who sent it.

    Label Studio's auto-created project webhook carries no Basic auth, only headers the user adds to
    it (``X-Webhook-Secret``); START_TRAINING comes with the model connection's Basic auth and never
    with that header. Either proof counts; with WEBHOOK_SECRET unset, every call is trusted.
    """
    expected = settings.webhook_secret.get_secret_value()
    if not expected:
        return True
    if x_webhook_secret and secrets.compare_digest(x_webhook_secret.encode(), expected.encode()):
        return True
    return settings.basic_auth_enabled and _basic_ok(settings, credentials)


WebhookTrustDep = Annotated[bool, Depends(webhook_trusted)]
