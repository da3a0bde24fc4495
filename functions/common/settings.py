"""Runtime settings: the only place that reads the environment.

Read once per process through :func:`get_settings` and passed down; tests build ``Settings(...)``
directly. Secrets can be given in plain env for local runs, or as the *name* of an SSM SecureString
(``*_PARAM``), which the entry point resolves at start through Powertools Parameters.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every knob of the predict function, the submitter and the training job."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore", case_sensitive=False)

    # --- storage and queues (names come from the SAM template / local stack) ---
    bucket_name: str = Field(min_length=3, max_length=63, description="S3 bucket for cache, records, checkpoints")
    train_queue_url: str = Field(default="", description="SQS queue the webhook puts training requests on")
    batch_job_queue: str = ""
    batch_job_definition: str = ""

    # --- the embedder ---
    yolo_model: str = Field(
        default="yolov8n-cls.pt",
        description="YOLO classification weights: a local path or an s3://bucket/key URI",
    )
    # 0: the size stored beside the weights (sidecar), else 224.
    yolo_imgsz: int = Field(default=0, ge=0, le=1024)
    embed_batch_size: int = Field(default=32, ge=1, le=1024)
    torch_device: str = "auto"
    torch_threads: int = Field(default=0, ge=0, description="0: all cores")

    # --- media ---
    label_studio_url: str = ""
    label_studio_api_key: SecretStr = SecretStr("")
    label_studio_api_key_param: str = ""
    max_video_mb: int = Field(default=512, ge=1)
    work_dir: Path = Path("/tmp/vfc")

    # --- HTTP API ---
    basic_auth_user: str = ""
    basic_auth_password: SecretStr = SecretStr("")
    basic_auth_password_param: str = ""
    webhook_secret: SecretStr = SecretStr("")
    webhook_secret_param: str = ""
    # Label Studio gives /predict 100 s for the whole request; API Gateway cuts integrations at 30 s.
    # Tasks not finished inside this budget are answered as "pending" (see predict service).
    predict_budget_s: float = Field(default=25.0, gt=0, le=900)
    default_score_threshold: float = Field(default=0.25, gt=0, lt=1)
    # Frames/s the embedder is assumed to manage until it has measured itself; decides which videos
    # /predict leaves to a background job (a 4 GB Lambda, ~2 vCPU, at 224 px).
    embed_fps_estimate: float = Field(default=60.0, gt=0)
    prefetch_on_import: bool = True

    # --- training ---
    train_min_tasks: int = Field(default=3, ge=1, description="annotated tasks before a first model is trained")
    train_max_epochs: int = Field(default=200, ge=1)
    train_seed: int = 0

    log_level: str = "INFO"

    @field_validator("yolo_model")
    @classmethod
    def _check_model_uri(cls, v: str) -> str:
        if v.startswith(("http://", "https://")):
            raise ValueError("YOLO_MODEL must be a local path or an s3:// URI; nothing is downloaded at run time")
        return v

    @field_validator("label_studio_url")
    @classmethod
    def _check_ls_url(cls, v: str) -> str:
        if v and not v.startswith(("http://", "https://")):
            raise ValueError("LABEL_STUDIO_URL must start with http:// or https://")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _check_auth_pair(self) -> Settings:
        user = bool(self.basic_auth_user)
        password = bool(self.basic_auth_password.get_secret_value() or self.basic_auth_password_param)
        if user != password:
            raise ValueError(
                "set both BASIC_AUTH_USER and BASIC_AUTH_PASSWORD (or BASIC_AUTH_PASSWORD_PARAM), or neither"
            )
        if bool(self.batch_job_queue) != bool(self.batch_job_definition):
            raise ValueError("set both BATCH_JOB_QUEUE and BATCH_JOB_DEFINITION, or neither")
        return self

    @property
    def basic_auth_enabled(self) -> bool:
        return bool(self.basic_auth_user)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings from the environment, read once per process; a missing or bad value fails here."""
    return Settings()  # type: ignore[call-arg]  # required fields come from the environment
