"""The ML backend HTTP contract. Each route: validate, call one service function, return a model."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Response

from functions.common.ls_models import (
    HealthResponse,
    PredictRequest,
    PredictResponse,
    SetupRequest,
    SetupResponse,
    VersionsResponse,
    WebhookEvent,
    WebhookResponse,
)
from functions.predict import service, webhooks
from functions.predict.deps import BackendDep, WebhookTrustDep, require_basic_auth

router = APIRouter()
protected = [Depends(require_basic_auth)]


@router.get("/health", response_model=HealthResponse)
@router.get("/", response_model=HealthResponse, include_in_schema=False)
def health() -> HealthResponse:
    return HealthResponse()


@router.post("/setup", response_model=SetupResponse, dependencies=protected)
def setup(request: SetupRequest, backend: BackendDep) -> SetupResponse:
    return service.setup(backend, request)


@router.post("/predict", response_model=PredictResponse, response_model_exclude_none=True, dependencies=protected)
def predict(request: PredictRequest, backend: BackendDep) -> PredictResponse:
    return service.predict(backend, request)


@router.post("/webhook", response_model=WebhookResponse)
def webhook(event: WebhookEvent, backend: BackendDep, trusted: WebhookTrustDep, response: Response) -> WebhookResponse:
    response.status_code, body = webhooks.accept_webhook(backend, event, trusted=trusted)
    return body


@router.get("/versions", response_model=VersionsResponse, dependencies=protected)
def versions(backend: BackendDep, project: str | None = None) -> VersionsResponse:
    return service.list_versions(backend, project)


@router.get("/metrics", dependencies=protected)
def metrics(backend: BackendDep) -> dict[str, Any]:
    return service.metrics(backend)
