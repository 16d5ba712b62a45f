"""The media store on S3-compatible object storage (MinIO, Aliyun OSS, Tencent COS, AWS S3),
through aiobotocore (an optional dependency: ``pip install 'cunbot[s3]'``).

Objects are named ``<prefix>/<key>``; the key is content-addressed, so a HEAD before the PUT
is enough to store each file once (two processes racing on the same new photo both PUT the
same bytes, which is harmless). The client is opened by ``async with store`` (the app's
lifecycle) and shared by every request of the process.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from services.media_store.base import MediaStore, MediaUnavailable, ObjectInfo, valid_key

CHUNK = 64 * 1024
_NOT_FOUND = ("404", "NoSuchKey", "NotFound")
_RANGE = re.compile(r"bytes=(\d+-\d*|-\d+)")


class _Missing(Exception):
    pass


class RangeNotSatisfiable(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


@dataclass(frozen=True)
class S3Location:
    bucket: str
    prefix: str  # "" or ending without a slash

    @classmethod
    def parse(cls, url: str) -> S3Location:
        """``s3://bucket`` or ``s3://bucket/some/prefix``; ValueError otherwise."""
        parts = urlsplit(url)
        bucket = parts.netloc
        if parts.scheme != "s3" or not re.fullmatch(r"[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9]", bucket):
            raise ValueError("must be s3://bucket or s3://bucket/prefix (a valid bucket name)")
        if parts.query or parts.fragment:
            raise ValueError("must be s3://bucket or s3://bucket/prefix (no ? or #)")
        prefix = parts.path.strip("/")
        if prefix and not valid_key(prefix):
            raise ValueError("the prefix may hold letters, digits, '_', '-', '.' and '/'")
        return cls(bucket, prefix)


@dataclass(frozen=True)
class S3Settings:
    location: S3Location
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = field(default=None, repr=False)
    region: str | None = None
    presign: bool = False
    presign_seconds: int = 300
    addressing_style: str = "auto"  # "path", "virtual" or "auto" (botocore's choice)


@dataclass
class ObjectStream:
    """An open GET: status 200 or 206, the headers to answer with, and the body's chunks."""

    status: int
    length: int
    content_type: str
    etag: str
    content_range: str | None
    _body: Any

    async def chunks(self) -> AsyncIterator[bytes]:
        while True:
            try:
                chunk = await self._body.read(CHUNK)
            except (aiohttp.ClientError, TimeoutError) as exc:
                raise MediaUnavailable(f"s3 read: {exc!r}") from exc
            if not chunk:
                return
            yield chunk

    def close(self) -> None:
        self._body.close()


def _code(exc: Exception) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", ""))


class S3Store(MediaStore):
    name = "s3"

    def __init__(self, settings: S3Settings) -> None:
        self.settings = settings
        self._stack: AsyncExitStack | None = None
        self._client: Any = None

    async def __aenter__(self) -> S3Store:
        from aiobotocore.config import AioConfig
        from aiobotocore.session import get_session

        s = self.settings
        stack = AsyncExitStack()
        # Addressing: "auto" lets botocore choose (path-style with a custom endpoint, which
        # MinIO wants); Aliyun OSS and Tencent COS refuse path-style for new buckets and need
        # "virtual" (bucket.host). Retries: botocore's standard mode (3 attempts).
        config = AioConfig(
            signature_version="s3v4",
            s3={"addressing_style": s.addressing_style},
            retries={"max_attempts": 3, "mode": "standard"},
            connect_timeout=10,
            read_timeout=60,
        )
        self._client = await stack.enter_async_context(
            get_session().create_client(
                "s3",
                endpoint_url=s.endpoint_url or None,
                aws_access_key_id=s.access_key_id or None,
                aws_secret_access_key=s.secret_access_key or None,
                region_name=s.region or None,
                config=config,
            )
        )
        self._stack = stack
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._stack is not None:
            await self._stack.aclose()
        self._stack = self._client = None

    @property
    def presign(self) -> bool:
        return self.settings.presign

    def object_name(self, key: str) -> str:
        if not valid_key(key):
            raise ValueError(f"bad media key {key[:80]!r}")
        prefix = self.settings.location.prefix
        return f"{prefix}/{key}" if prefix else key

    def _args(self, key: str) -> dict[str, str]:
        return {"Bucket": self.settings.location.bucket, "Key": self.object_name(key)}

    async def _call(self, operation: str, **kwargs: Any) -> Any:
        """One S3 request; a missing object is :class:`_Missing`, an unsatisfiable range
        :class:`RangeNotSatisfiable` (size unknown: 0), anything else that goes wrong
        :class:`MediaUnavailable`."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return await getattr(self._client, operation)(**kwargs)
        except ClientError as exc:
            code = _code(exc)
            if code in _NOT_FOUND:
                raise _Missing from exc
            if code == "InvalidRange":
                raise RangeNotSatisfiable(0) from exc
            raise MediaUnavailable(f"s3 {operation}: {code}") from exc
        except (BotoCoreError, aiohttp.ClientError, TimeoutError) as exc:
            raise MediaUnavailable(f"s3 {operation}: {exc!r}") from exc

    async def head(self, key: str) -> ObjectInfo | None:
        if not valid_key(key):
            return None
        try:
            got = await self._call("head_object", **self._args(key))
        except _Missing:
            return None
        return ObjectInfo(
            int(got["ContentLength"]),
            str(got.get("ContentType") or "application/octet-stream"),
            str(got.get("ETag") or ""),
        )

    async def exists(self, key: str) -> bool:
        return await self.head(key) is not None

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> bool:
        if await self.exists(key):
            return False
        await self._call("put_object", **self._args(key), Body=data, ContentType=content_type)
        return True

    async def put_file(self, key: str, source: Path, content_type: str) -> bool:
        if await self.exists(key):
            return False
        data = await asyncio.to_thread(source.read_bytes)  # at most 20 MB (attachments)
        await self._call("put_object", **self._args(key), Body=data, ContentType=content_type)
        return True

    async def open(self, key: str, byte_range: str | None = None) -> ObjectStream | None:
        """A GET of the object (``byte_range``: an HTTP Range value, passed on when it is one
        simple range); None when there is no such object."""
        if not valid_key(key):
            return None
        extra = {"Range": byte_range} if byte_range and _RANGE.fullmatch(byte_range) else {}
        try:
            got = await self._call("get_object", **self._args(key), **extra)
        except _Missing:
            return None
        except RangeNotSatisfiable as bad:
            info = await self.head(key)
            raise RangeNotSatisfiable(info.size if info else 0) from bad
        partial = "ContentRange" in got and bool(extra)
        return ObjectStream(
            status=206 if partial else 200,
            length=int(got["ContentLength"]),
            content_type=str(got.get("ContentType") or "application/octet-stream"),
            etag=str(got.get("ETag") or ""),
            content_range=str(got["ContentRange"]) if partial else None,
            _body=got["Body"],
        )

    async def read(self, key: str) -> bytes | None:
        stream = await self.open(key)
        if stream is None:
            return None
        try:
            return b"".join([chunk async for chunk in stream.chunks()])
        finally:
            stream.close()

    async def presigned_url(
        self, key: str, *, content_type: str | None = None, disposition: str | None = None
    ) -> str:
        """A GET link valid for ``presign_seconds`` (the answer's type and disposition are
        signed into it, so the store answers as the service would)."""
        params: dict[str, Any] = self._args(key)
        if content_type:
            params["ResponseContentType"] = content_type
        if disposition:
            params["ResponseContentDisposition"] = disposition
        params["ResponseCacheControl"] = "private, no-store"
        url = await self._call(
            "generate_presigned_url",
            ClientMethod="get_object",
            Params=params,
            ExpiresIn=self.settings.presign_seconds,
        )
        return str(url)
