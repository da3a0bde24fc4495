"""End-to-end fixtures: a real Label Studio 1.23.2 (from ``.venv-ls``, made by
``scripts/label_studio_venv.sh``) and the local stack (``DevStack``) it drives.

Label Studio runs as a subprocess on a free loopback port with a throwaway data dir, allowed to call a
loopback ML backend (``ML_BLOCK_LOCAL_IP=false``, ``SSRF_PROTECTION_ENABLED=false``) and with a known
legacy API token (``--user-token`` + ``--enable-legacy-api-token``). Its output goes to
``<data dir>/label-studio.log``; set ``E2E_KEEP_LS_DATA=1`` to keep the data dir after the run.
Without ``.venv-ls`` the e2e tests are skipped, unless ``E2E_REQUIRED=1`` (``make test``), then they fail.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from devstack.jobs import JobRecord
    from devstack.stack import DevStack

ROOT = Path(__file__).resolve().parents[2]
LS_BIN = ROOT / ".venv-ls" / "bin" / "label-studio"
LS_START_TIMEOUT_S = 300.0
ADMIN_EMAIL = "admin@example.com"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@dataclass(frozen=True)
class LabelStudioServer:
    url: str
    token: str  # the admin's legacy API token (``Authorization: Token <token>``), used by the tests' SDK client
    personal_access_token: (
        str  # a PAT (JWT refresh token) of the admin, what the README tells users to give the backend
    )
    email: str
    password: str
    data_dir: Path
    log_path: Path
    start_seconds: float

    def log_tail(self, lines: int = 60) -> str:
        return _tail(self.log_path, lines)


def _tail(path: Path, lines: int = 60) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _mint_personal_access_token(url: str, token: str) -> str:
    """Account & Settings > Personal Access Token > Create, through the API (``POST /api/token/``)."""
    resp = httpx.post(f"{url}/api/token/", headers={"Authorization": f"Token {token}"}, timeout=30)
    if resp.status_code != 201:
        pytest.fail(f"creating a personal access token failed: {resp.status_code} {resp.text[:300]}", pytrace=False)
    return str(resp.json()["token"])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _require_label_studio() -> None:
    if LS_BIN.exists():
        return
    reason = f"Label Studio is not installed at {LS_BIN}; run scripts/label_studio_venv.sh"
    if os.environ.get("E2E_REQUIRED") == "1":
        pytest.fail(f"E2E_REQUIRED=1 but {reason}", pytrace=False)
    pytest.skip(reason)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    # LS was started in its own session: signal its whole process group (it may fork helpers).
    try:
        os.killpg(proc.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def _external_label_studio(url: str, token: str) -> LabelStudioServer:
    if not token:
        pytest.fail("E2E_LABEL_STUDIO_URL is set but E2E_LABEL_STUDIO_TOKEN is not", pytrace=False)
    try:
        status = httpx.get(f"{url}/health", timeout=5).status_code
    except httpx.HTTPError as exc:
        pytest.fail(f"E2E_LABEL_STUDIO_URL={url} does not answer: {exc}", pytrace=False)
    if status != 200:
        pytest.fail(f"E2E_LABEL_STUDIO_URL={url}/health answered {status}", pytrace=False)
    return LabelStudioServer(
        url=url,
        token=token,
        # LS keeps one PAT per user and shows it only once: pass it, or the backend gets the legacy token.
        personal_access_token=os.environ.get("E2E_LABEL_STUDIO_PAT", "") or token,
        email="",
        password="",
        data_dir=Path(),
        log_path=Path("/nonexistent"),
        start_seconds=0.0,
    )


@pytest.fixture(scope="session")
def label_studio() -> Iterator[LabelStudioServer]:
    """A fresh Label Studio on 127.0.0.1:<free port>; first start migrates SQLite (1–1.5 min).

    To iterate faster, point at one already running (started with the flags below) with
    ``E2E_LABEL_STUDIO_URL`` and ``E2E_LABEL_STUDIO_TOKEN`` (its legacy token), optionally
    ``E2E_LABEL_STUDIO_PAT`` (the user's personal access token); it is then left running.
    """
    external = os.environ.get("E2E_LABEL_STUDIO_URL", "").rstrip("/")
    if external:
        yield _external_label_studio(external, os.environ.get("E2E_LABEL_STUDIO_TOKEN", ""))
        return
    _require_label_studio()
    port = _free_port()  # LS silently moves to the next port when this one is taken: pick a free one
    data_dir = Path(tempfile.mkdtemp(prefix="ls-e2e-"))
    log_path = data_dir / "label-studio.log"
    url = f"http://127.0.0.1:{port}"
    password = secrets.token_urlsafe(16)
    token = secrets.token_hex(20)  # 40 hex characters, like LS's own legacy tokens
    env = {
        **os.environ,
        "LABEL_STUDIO_BASE_DATA_DIR": str(data_dir),
        "ML_BLOCK_LOCAL_IP": "false",
        "SSRF_PROTECTION_ENABLED": "false",
        "LATEST_VERSION_CHECK": "false",
        "COLLECT_ANALYTICS": "false",
        "SENTRY_DSN": "",
        "FRONTEND_SENTRY_DSN": "",
        "LABEL_STUDIO_HOST": url,
        "PYTHONUNBUFFERED": "1",
    }
    # The project's settings must not leak into LS (it reads DJANGO_* / LABEL_STUDIO_* itself).
    for name in ("DJANGO_SETTINGS_MODULE", "LABEL_STUDIO_URL", "LABEL_STUDIO_API_KEY", "VIRTUAL_ENV", "PYTHONPATH"):
        env.pop(name, None)
    cmd = [
        str(LS_BIN),
        "start",
        "--no-browser",
        "--internal-host",
        "127.0.0.1",
        "-p",
        str(port),
        "--data-dir",
        str(data_dir),
        "--username",
        ADMIN_EMAIL,
        "--password",
        password,
        "--user-token",
        token,
        "--enable-legacy-api-token",
    ]
    started = time.monotonic()
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            cmd, cwd=data_dir, env=env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = started + LS_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(
                    f"Label Studio exited with code {proc.returncode} before answering /health; "
                    f"log {log_path}:\n{_tail(log_path)}",
                    pytrace=False,
                )
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"Label Studio did not answer GET {url}/health with 200 within {LS_START_TIMEOUT_S:.0f}s; "
                    f"log {log_path}:\n{_tail(log_path)}",
                    pytrace=False,
                )
            time.sleep(1)
        server = LabelStudioServer(
            url=url,
            token=token,
            personal_access_token=_mint_personal_access_token(url, token),
            email=ADMIN_EMAIL,
            password=password,
            data_dir=data_dir,
            log_path=log_path,
            start_seconds=time.monotonic() - started,
        )
        print(f"\n[e2e] Label Studio {url} up in {server.start_seconds:.1f}s (log {log_path})")
        yield server
    finally:
        _stop(proc)
        if os.environ.get("E2E_KEEP_LS_DATA") == "1":
            print(f"[e2e] Label Studio data kept in {data_dir}")
        else:
            shutil.rmtree(data_dir, ignore_errors=True)


@dataclass
class BackendServer:
    """The running local stack and the credentials it was given."""

    stack: DevStack
    url: str
    webhook_secret: str  # Label Studio must send it as the X-Webhook-Secret header of the project webhook
    basic_auth_user: str  # HTTP Basic that Label Studio sends on /setup, /predict, START_TRAINING...
    basic_auth_password: str

    def wait_for_training(self, timeout: float = 600) -> bool:
        return self.stack.wait_for_training(timeout)

    def jobs(self) -> list[JobRecord]:
        """Every local training job so far, in submission order."""
        assert self.stack.runner is not None
        return list(self.stack.runner.jobs.values())


# Module scope: the stack's settings live in os.environ while it runs, and must be gone before other
# test modules (integration tests) run in the same session.
@pytest.fixture(scope="module")
def backend(label_studio: LabelStudioServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackendServer]:
    """The local stack (moto, the API under uvicorn, the queue poller, local training jobs), set up as the
    README tells users: it reads uploaded media back from this Label Studio with a personal access token,
    and requires a webhook secret and HTTP Basic auth."""
    from demo.weights import DEFAULT_OUT, build_weights
    from devstack.stack import DevStack
    from functions.common.settings import get_settings
    from functions.predict.deps import get_backend

    if not DEFAULT_OUT.is_file():
        build_weights(DEFAULT_OUT)  # `make weights` (~1 min), normally already there
    webhook_secret, basic_user, basic_password = secrets.token_hex(16), "label-studio", secrets.token_urlsafe(12)
    env = {
        "LABEL_STUDIO_URL": label_studio.url,
        "LABEL_STUDIO_API_KEY": label_studio.personal_access_token,
        "TRAIN_MIN_TASKS": "3",
        "YOLO_MODEL": str(DEFAULT_OUT),
        "WORK_DIR": str(tmp_path_factory.mktemp("e2e-work")),
        "WEBHOOK_SECRET": webhook_secret,
        "BASIC_AUTH_USER": basic_user,
        "BASIC_AUTH_PASSWORD": basic_password,
    }
    # DevStack writes its settings and AWS endpoints into os.environ; later test modules (integration
    # tests read AWS_ENDPOINT_URL to pick their emulator) must not see them.
    saved = dict(os.environ)
    stack = DevStack(port=0, env=env)
    try:
        stack.start()
        yield BackendServer(stack, stack.url, webhook_secret, basic_user, basic_password)
    finally:
        stack.stop()
        os.environ.clear()
        os.environ.update(saved)
        get_settings.cache_clear()
        get_backend.cache_clear()
