"""Blobs in an S3-compatible object store (AWS S3, MinIO, Ceph, R2, moto in tests).

boto3 rather than aiobotocore: boto3 is the reference SDK that every S3-compatible vendor
documents and tests against, its clients are thread-safe, and presigning is a local computation.
aiobotocore pins exact botocore versions, which fights every other package that needs botocore
(moto, boto3 itself). Each call is short and runs in a worker thread (`asyncio.to_thread`), so
the event loop never blocks.
"""

from __future__ import annotations

import asyncio
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

_MISSING = {"NoSuchKey", "404", "NotFound"}


class S3BlobStore:
    def __init__(
        self,
        bucket: str,
        *,
        endpoint_url: str | None = None,
        region: str = "us-east-1",
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        prefix: str = "",
        public_endpoint_url: str | None = None,
        path_style: bool = True,
        create_bucket: bool = False,
    ) -> None:
        """`public_endpoint_url`: where browsers reach the store, if not at `endpoint_url`.

        `create_bucket`: `start` creates the bucket when it does not exist (development, tests).
        """
        self.bucket = bucket
        self._create_bucket = create_bucket
        self.prefix = prefix
        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": "path" if path_style else "auto"},
            retries={"max_attempts": 3, "mode": "standard"},
        )
        credentials: dict[str, Any] = {
            "region_name": region,
            "aws_access_key_id": access_key_id,
            "aws_secret_access_key": secret_access_key,
            "config": config,
        }
        self._client = boto3.client("s3", endpoint_url=endpoint_url, **credentials)
        self._signer = (
            boto3.client("s3", endpoint_url=public_endpoint_url, **credentials)
            if public_endpoint_url
            else self._client
        )

    def _key(self, key: str) -> str:
        return self.prefix + key

    async def start(self) -> None:
        if not self._create_bucket:
            return

        def ensure() -> None:
            try:
                self._client.head_bucket(Bucket=self.bucket)
            except ClientError:
                self._client.create_bucket(Bucket=self.bucket)

        await asyncio.to_thread(ensure)

    async def put(self, key: str, data: bytes, content_type: str) -> None:
        await asyncio.to_thread(
            self._client.put_object,
            Bucket=self.bucket,
            Key=self._key(key),
            Body=data,
            ContentType=content_type,
        )

    async def get(self, key: str) -> tuple[bytes, str]:
        def read() -> tuple[bytes, str]:
            try:
                response = self._client.get_object(Bucket=self.bucket, Key=self._key(key))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in _MISSING:
                    raise KeyError(key) from None
                raise
            body = response["Body"]
            try:
                return body.read(), response.get("ContentType", "application/octet-stream")
            finally:
                body.close()

        return await asyncio.to_thread(read)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._client.delete_object, Bucket=self.bucket, Key=self._key(key))

    async def keys(self, prefix: str = "") -> list[str]:
        """Every key under `prefix` (without the store's own prefix)."""

        def list_keys() -> list[str]:
            found: list[str] = []
            paginator = self._client.get_paginator("list_objects_v2")
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
                found += [item["Key"][len(self.prefix) :] for item in page.get("Contents", [])]
            return found

        return await asyncio.to_thread(list_keys)

    def presigned_get(
        self,
        key: str,
        expires_s: int,
        *,
        content_disposition: str | None = None,
        content_type: str | None = None,
    ) -> str | None:
        """A GET URL that works without credentials until it expires (S3 allows 7 days at most).

        The store answers it with `content_disposition` and `content_type` as response headers.
        """
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self._key(key)}
        if content_disposition:
            params["ResponseContentDisposition"] = content_disposition
        if content_type:
            params["ResponseContentType"] = content_type
        return self._signer.generate_presigned_url(
            "get_object", Params=params, ExpiresIn=max(1, min(int(expires_s), 7 * 24 * 3600))
        )

    async def close(self) -> None:
        self._client.close()
        if self._signer is not self._client:
            self._signer.close()
