"""S3 adapter for the ObjectStore port; S3 errors become domain errors here and nowhere else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from functions.common.errors import (
    ConflictError,
    MediaError,
    MediaTooLargeError,
    ModelLoadError,
    StorageError,
)
from functions.common.ports import StoredObject

_MISSING = {"NoSuchKey", "404", "NotFound"}
_PRECONDITION = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


class S3ObjectStore:
    def __init__(self, client: Any, bucket: str) -> None:
        self._s3 = client
        self._bucket = bucket

    @property
    def bucket(self) -> str:
        return self._bucket

    def get(self, key: str) -> StoredObject | None:
        try:
            resp = self._s3.get_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return None
            raise StorageError(f"s3://{self._bucket}/{key}: {exc}") from exc
        return StoredObject(body=resp["Body"].read(), etag=resp["ETag"])

    def put(self, key: str, body: bytes, *, if_match: str | None = None, if_none_match: bool = False) -> str:
        extra: dict[str, str] = {}
        if if_match is not None:
            extra["IfMatch"] = if_match
        if if_none_match:
            extra["IfNoneMatch"] = "*"
        try:
            resp = self._s3.put_object(Bucket=self._bucket, Key=key, Body=body, **extra)
        except ClientError as exc:
            if _code(exc) in _PRECONDITION:
                raise ConflictError(f"s3://{self._bucket}/{key} changed concurrently") from exc
            raise StorageError(f"s3://{self._bucket}/{key}: {exc}") from exc
        return str(resp["ETag"])

    def delete(self, key: str) -> None:
        try:
            self._s3.delete_object(Bucket=self._bucket, Key=key)
        except ClientError as exc:
            raise StorageError(f"s3://{self._bucket}/{key}: {exc}") from exc

    def list_keys(self, prefix: str) -> list[str]:
        try:
            pages = self._s3.get_paginator("list_objects_v2").paginate(Bucket=self._bucket, Prefix=prefix)
            return [obj["Key"] for page in pages for obj in page.get("Contents", [])]
        except ClientError as exc:
            raise StorageError(f"s3://{self._bucket}/{prefix}*: {exc}") from exc

    def exists(self, key: str) -> bool:
        try:
            self._s3.head_object(Bucket=self._bucket, Key=key)
            return True
        except ClientError as exc:
            if _code(exc) in _MISSING:
                return False
            raise StorageError(f"s3://{self._bucket}/{key}: {exc}") from exc


def split_s3_uri(uri: str) -> tuple[str, str]:
    rest = uri.removeprefix("s3://")
    bucket, _, key = rest.partition("/")
    if not bucket or not key:
        raise ValueError(f"not an s3://bucket/key URI: {uri}")
    return bucket, key


def download_s3_uri(client: Any, uri: str, dest: Path, *, max_bytes: int | None = None) -> Path:
    """Copy ``s3://bucket/key`` to ``dest``; media errors name the URI."""
    bucket, key = split_s3_uri(uri)
    try:
        head = client.head_object(Bucket=bucket, Key=key)
        if max_bytes is not None and int(head["ContentLength"]) > max_bytes:
            raise MediaTooLargeError(f"{uri} is {head['ContentLength']} bytes, over MAX_VIDEO_MB")
        dest.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(bucket, key, str(dest))
    except ClientError as exc:
        raise MediaError(f"cannot read {uri} ({_code(exc)}); check the bucket policy and the function's role") from exc
    return dest


def fetch_weights(client: Any, uri: str, cache_dir: Path) -> Path:
    """YOLO_MODEL as a local file: a path is used as is; an s3:// URI (and its ``.names.json``
    sidecar, when present) is copied once into ``cache_dir``."""
    if not uri.startswith("s3://"):
        return Path(uri)
    _, key = split_s3_uri(uri)
    dest = cache_dir / Path(key).name
    if dest.is_file():
        return dest
    try:
        download_s3_uri(client, uri, dest.with_suffix(dest.suffix + ".part")).rename(dest)
    except MediaError as exc:
        raise ModelLoadError(f"YOLO_MODEL={uri}: {exc}") from exc
    try:
        download_s3_uri(client, f"{uri}.names.json", Path(f"{dest}.names.json"))
    except MediaError:
        pass  # the sidecar is optional: without it /setup cannot check class names early
    return dest
