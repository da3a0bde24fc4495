"""Sample events in infra/events (for `sam local invoke`) and infra/env.json: valid, realistic, and in
step with the template and with the payload models."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "infra" / "events"
ENV_FILE = ROOT / "infra" / "env.json"

API_EVENTS = {
    "health.json": "GET /health",
    "setup.json": "POST /setup",
    "predict.json": "POST /predict",
    "webhook.json": "POST /webhook",
    "versions.json": "GET /versions",
}
SQS_EVENTS = ["sqs_train_request.json"]
TRAIN_REQUEST_KEYS = {"project", "control", "reason", "request_id", "requested_at", "label_config", "hostname"}
# Routes Label Studio calls with the Basic auth the user configured; webhooks never carry it.
BASIC_AUTH_ROUTES = {"GET /health", "POST /setup", "POST /predict", "GET /versions"}


def _load(name: str) -> dict[str, Any]:
    data = json.loads((EVENTS / name).read_text())
    assert isinstance(data, dict)
    return data


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    from cfnlint.decode import decode

    tpl, matches = decode(str(ROOT / "template.yaml"))
    assert not matches and tpl is not None
    return tpl


def test_every_event_file_is_covered() -> None:
    # GIVEN the event files on disk
    names = {p.name for p in EVENTS.glob("*.json")}

    # THEN each is one this test checks (a new file needs a shape check here)
    assert names == set(API_EVENTS) | set(SQS_EVENTS)


# --------------------------------------------------------------------------------------------------
# API Gateway HTTP API (payload format 2.0)
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("name", "route"), sorted(API_EVENTS.items()))
def test_api_event_is_an_http_api_v2_event(name: str, route: str) -> None:
    # GIVEN an API event file
    event = _load(name)
    method, path = route.split(" ", 1)

    # THEN it is a payload-2.0 event for that route, consistent with itself
    assert event["version"] == "2.0"
    assert event["routeKey"] == route == event["requestContext"]["routeKey"]
    assert event["rawPath"] == path == event["requestContext"]["http"]["path"]
    assert event["requestContext"]["http"]["method"] == method
    assert event["requestContext"]["stage"] == "$default"
    assert event["isBase64Encoded"] is False
    # AND headers are lower-case, as API Gateway delivers them
    assert all(key == key.lower() for key in event["headers"])
    # AND a body, when present, is JSON with a matching content-length
    if method == "POST":
        body = event["body"]
        assert isinstance(json.loads(body), dict)
        assert event["headers"]["content-type"] == "application/json"
        assert int(event["headers"]["content-length"]) == len(body.encode())
    else:
        assert "body" not in event


@pytest.mark.parametrize("name", sorted(API_EVENTS))
def test_api_event_routes_exist_in_the_template(name: str, template: dict[str, Any]) -> None:
    # GIVEN the routes the template gives the predict function
    events = template["Resources"]["PredictFunction"]["Properties"]["Events"].values()
    routes = {f"{e['Properties']['Method']} {e['Properties']['Path']}" for e in events if e["Type"] == "HttpApi"}

    # THEN the sample event targets one of them
    assert _load(name)["routeKey"] in routes


@pytest.mark.parametrize(("name", "route"), sorted(API_EVENTS.items()))
def test_api_event_carries_the_credentials_label_studio_sends(name: str, route: str) -> None:
    # GIVEN an API event and the local credentials of infra/env.json's SSM parameters (see docs/deploy.md)
    headers = _load(name)["headers"]

    if route in BASIC_AUTH_ROUTES:
        # THEN the routes Label Studio authenticates carry HTTP Basic for the configured user
        scheme, _, token = headers["authorization"].partition(" ")
        assert scheme == "Basic"
        user, _, password = base64.b64decode(token).decode().partition(":")
        assert user == "labelstudio" and password
    else:
        # THEN the webhook carries no Basic auth (LS never sends it there), only the shared secret header
        assert "authorization" not in headers
        assert headers["x-webhook-secret"]


def test_setup_and_predict_bodies_follow_the_contract() -> None:
    # GIVEN the /setup and /predict bodies
    setup = json.loads(_load("setup.json")["body"])
    predict = json.loads(_load("predict.json")["body"])

    # THEN they have the keys Label Studio 1.23.2 sends, with the "<id>.<created-at>" project
    assert set(setup) == {"project", "schema", "hostname", "access_token", "extra_params"}
    assert set(predict) == {"tasks", "project", "label_config", "params"}
    for body in (setup, predict):
        project_id, _, created = body["project"].partition(".")
        assert project_id.isdigit() and created.isdigit()
    assert "<TimelineLabels" in setup["schema"] and "<Video" in setup["schema"]
    task = predict["tasks"][0]
    assert task["data"]["video"].startswith("/data/upload/")


def test_webhook_body_is_an_annotation_created_event_shaped_like_the_contract() -> None:
    # GIVEN the webhook body
    body = json.loads(_load("webhook.json")["body"])

    # THEN it is ANNOTATION_CREATED with one annotation, its task and its project (contract section 5)
    assert body["action"] == "ANNOTATION_CREATED"
    annotation, task, project = body["annotation"], body["task"], body["project"]
    assert {"id", "task", "project", "updated_at", "was_cancelled", "result"} <= set(annotation)
    assert annotation["task"] == task["id"] and annotation["project"] == project["id"] == task["project"]
    region = annotation["result"][0]
    assert region["type"] == "timelinelabels" and region["from_name"] == "videoLabels"
    assert region["value"]["ranges"] == [{"start": 26, "end": 38}]
    assert region["value"]["timelinelabels"] == ["flash"]
    assert task["data"]["video"].startswith("/data/upload/")
    assert "<TimelineLabels" in project["label_config"]


def test_api_bodies_parse_as_the_backend_models() -> None:
    # GIVEN the backend's own payload models
    models = pytest.importorskip("functions.common.ls_models")

    # WHEN the sample bodies are parsed
    setup = models.SetupRequest.model_validate_json(_load("setup.json")["body"])
    predict = models.PredictRequest.model_validate_json(_load("predict.json")["body"])
    webhook = models.WebhookEvent.model_validate_json(_load("webhook.json")["body"])

    # THEN the fields the backend keys on come through
    assert models.project_id(setup.project) == models.project_id(predict.project) == "1"
    assert [t.id for t in predict.tasks] == [1]
    assert webhook.action == "ANNOTATION_CREATED"
    assert [a.id for a in webhook.annotation_list()] == [1]


@pytest.mark.parametrize(("name", "route"), sorted(API_EVENTS.items()))
def test_mangum_turns_the_event_into_the_expected_request(name: str, route: str) -> None:
    # GIVEN Mangum (the predict handler's adapter) in front of an app that records what it receives
    mangum = pytest.importorskip("mangum")
    seen: dict[str, Any] = {}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        message = await receive()
        seen.update(method=scope["method"], path=scope["path"], headers=dict(scope["headers"]))
        seen["body"] = message.get("body", b"")
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": b"ok"})

    event = _load(name)

    # WHEN the event is handled
    response = mangum.Mangum(app, lifespan="off")(event, None)

    # THEN the app saw the route's method, path, headers and body, and API Gateway gets a v2 response
    method, path = route.split(" ", 1)
    assert (seen["method"], seen["path"]) == (method, path)
    assert seen["body"] == event.get("body", "").encode()
    assert b"user-agent" in seen["headers"]
    assert response["statusCode"] == 200


# --------------------------------------------------------------------------------------------------
# SQS
# --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", SQS_EVENTS)
def test_sqs_event_carries_train_requests(name: str) -> None:
    # GIVEN the SQS batch event for the submitter
    records = _load(name)["Records"]
    assert records

    for record in records:
        # THEN each record is an SQS record with a body that is a TrainRequest
        assert record["eventSource"] == "aws:sqs"
        assert record["eventSourceARN"].startswith("arn:aws:sqs:")
        assert record["messageId"] and record["receiptHandle"]
        assert record["md5OfBody"] == hashlib.md5(record["body"].encode()).hexdigest()
        body = json.loads(record["body"])
        assert set(body) == TRAIN_REQUEST_KEYS
        assert isinstance(body["requested_at"], float)
        assert body["project"] == "1" and body["control"] == "videoLabels"
        assert body["label_config"].startswith("<View>")
    # AND distinct messages carry distinct request ids (the submitter coalesces them, not SQS)
    assert len({json.loads(r["body"])["request_id"] for r in records}) == len(records)


def test_sqs_bodies_parse_as_train_requests() -> None:
    # GIVEN the backend's TrainRequest model
    models = pytest.importorskip("functions.common.ls_models")

    # WHEN each record body is parsed
    requests = [models.TrainRequest.model_validate_json(r["body"]) for r in _load(SQS_EVENTS[0])["Records"]]

    # THEN every field survives
    assert [r.reason for r in requests] == ["ANNOTATION_CREATED", "START_TRAINING"]
    assert all(r.hostname == "http://localhost:8080" for r in requests)


# --------------------------------------------------------------------------------------------------
# infra/env.json
# --------------------------------------------------------------------------------------------------
def _declared_env(template: dict[str, Any], function: str) -> set[str]:
    declared = set(template["Globals"]["Function"]["Environment"]["Variables"])
    declared |= set(template["Resources"][function]["Properties"].get("Environment", {}).get("Variables", {}))
    return declared


def test_env_file_overrides_only_variables_the_template_declares(template: dict[str, Any]) -> None:
    # GIVEN infra/env.json (sam local --env-vars) and the template's functions
    env = json.loads(ENV_FILE.read_text())
    functions = {k for k, v in template["Resources"].items() if v["Type"] == "AWS::Serverless::Function"}

    # THEN it has a section per function (plus the shared "Parameters")
    assert set(env) == functions | {"Parameters"}
    # AND every variable it sets is declared for that function: SAM silently ignores any other
    for function in functions:
        declared = _declared_env(template, function)
        assert set(env["Parameters"]) <= declared, sorted(set(env["Parameters"]) - declared)
        assert set(env[function]) <= declared, sorted(set(env[function]) - declared)
    # AND it points the functions at a local emulator, with secrets only as SSM parameter names
    assert env["Parameters"]["AWS_ENDPOINT_URL"] == "http://host.docker.internal:5000"
    for section in env.values():
        for key, value in section.items():
            assert isinstance(value, str), key
            if any(word in key for word in ("PASSWORD", "SECRET", "API_KEY")):
                assert key.endswith("_PARAM") and value.startswith("/"), key
