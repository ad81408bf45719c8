"""Files in an S3-compatible object store through boto3 (PORTAL_STORAGE_URL=s3://bucket?…),
so that every host behind the proxy serves the same files. Credentials come from boto3's
usual places (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY, a profile, an instance role)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from portal.storage.base import Storage, StorageError

__all__ = ["S3Storage"]


class S3Storage(Storage):
    """Objects in one bucket (under an optional prefix), named as on the local disk."""

    def __init__(self, bucket: str, endpoint: str | None = None, region: str | None = None,
                 prefix: str = ""):
        import boto3
        from botocore.config import Config as BotoConfig

        self.bucket = bucket
        self.endpoint = endpoint
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""
        # A client is thread-safe and costs tens of milliseconds to make: one per process.
        self.client = boto3.session.Session().client(
            "s3", endpoint_url=endpoint, region_name=region,
            config=BotoConfig(retries={"max_attempts": 4, "mode": "standard"},
                              connect_timeout=5, read_timeout=30,
                              s3={"addressing_style": "path"} if endpoint else None))

    def describe(self) -> str:
        where = f" at {self.endpoint}" if self.endpoint else ""
        return f"S3 bucket {self.bucket}{'/' + self.prefix if self.prefix else ''}{where}"

    def locate(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._name(key)}"

    def _name(self, name: str) -> str:
        return self.prefix + name

    def _missing(self, exc) -> bool:
        code = str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))
        return code in ("404", "NoSuchKey", "NotFound")

    def _call(self, method: str, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            if self._missing(exc):
                raise FileNotFoundError(kwargs.get("Key", self.bucket)) from None
            raise StorageError(f"{self.describe()}: {method}: {exc}") from exc
        except BotoCoreError as exc:
            raise StorageError(f"{self.describe()}: {method}: {exc}") from exc

    def _write(self, name: str, data: bytes) -> None:
        # A PUT is atomic: readers see the whole object or none.
        self._call("put_object", Key=self._name(name), Body=data)

    def _read(self, name: str) -> bytes:
        response = self._call("get_object", Key=self._name(name))
        with response["Body"] as body:
            return body.read()

    def _exists(self, name: str) -> bool:
        try:
            self._call("head_object", Key=self._name(name))
        except FileNotFoundError:
            return False
        return True

    def _rename(self, name: str, new_name: str) -> None:
        try:
            self._call("copy_object", Key=self._name(new_name),
                       CopySource={"Bucket": self.bucket, "Key": self._name(name)})
        except FileNotFoundError:
            if not self._exists(new_name):  # promoted meanwhile by another host: fine
                raise
            return
        self._delete(name)

    def _delete(self, name: str) -> None:
        try:
            self._call("delete_object", Key=self._name(name))
        except FileNotFoundError:
            pass

    def _list(self, prefix: str) -> Iterator[tuple[str, dt.datetime]]:
        from botocore.exceptions import BotoCoreError, ClientError

        paginator = self.client.get_paginator("list_objects_v2")
        try:
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._name(prefix)):
                for item in page.get("Contents", ()):
                    yield item["Key"][len(self.prefix):], item["LastModified"]
        except (BotoCoreError, ClientError) as exc:
            raise StorageError(f"{self.describe()}: list: {exc}") from exc
