"""Secrets named by ``*_PARAM`` settings are read from SSM (SecureString) once, at start."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr

from functions.common.errors import BackendError
from functions.common.settings import Settings

_SECRET_PARAMS = {
    "label_studio_api_key": "label_studio_api_key_param",
    "basic_auth_password": "basic_auth_password_param",
    "webhook_secret": "webhook_secret_param",
}


def resolve_secrets(settings: Settings, ssm_client: Any) -> Settings:
    """A copy of ``settings`` with every ``*_PARAM`` replaced by its decrypted SSM value.

    Raises:
        BackendError: a named parameter cannot be read (fails the cold start with its name).
    """
    wanted = {field: getattr(settings, param) for field, param in _SECRET_PARAMS.items() if getattr(settings, param)}
    if not wanted:
        return settings
    from aws_lambda_powertools.utilities.parameters import SSMProvider

    provider = SSMProvider(boto3_client=ssm_client)
    update: dict[str, SecretStr] = {}
    for field, name in wanted.items():
        try:
            update[field] = SecretStr(str(provider.get(name, decrypt=True, max_age=3600)))
        except Exception as exc:  # Powertools wraps client errors in its own exception types
            raise BackendError(f"cannot read SSM parameter {name} ({field.upper()}_PARAM): {exc}") from exc
    return settings.model_copy(update=update)
