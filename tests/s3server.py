"""A local S3-compatible server for the object-storage tests: moto's server mode in its own
process on 127.0.0.1 (a free port), started once per test session, and the ``media_backend``
fixture that points an app at the local folder (default) or at a fresh bucket on it.

    @pytest.mark.parametrize("media_backend", ["local", "s3"], indirect=True)
    async def test_x(media_backend, ...):
        async with webchat_server(..., **media_backend.core) as server: ...
        assert await media_backend.keys(tmp_path / "var" / "media") == [...]
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REGION = "us-east-1"
KEY_ID = "cunbot-test"
SECRET = "cunbot-test-secret"
PREFIX = "media"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_listening(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"moto server did not start on 127.0.0.1:{port}:\n{log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """``http://127.0.0.1:<port>`` of a moto server running for the whole session."""
    port = _free_port()
    log = Path(tempfile.mkdtemp(prefix="cunbot-moto-")) / "moto.log"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        _wait_listening(port, proc, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _client(endpoint: str) -> Any:
    import boto3  # moto's own dependency: only the tests use the synchronous client

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id=KEY_ID,
        aws_secret_access_key=SECRET,
        region_name=REGION,
    )


@dataclass
class MediaBackend:
    name: str  # "local", "s3" or "s3-presign"
    endpoint: str = ""
    bucket: str = ""
    core: dict[str, Any] = field(default_factory=dict)  # load_config overrides

    async def keys(self, media_dir: Path) -> list[str]:
        """Every stored key, sorted (files under media_dir, or objects under the prefix)."""
        if self.name == "local":
            return await asyncio.to_thread(
                lambda: (
                    sorted(
                        p.relative_to(media_dir).as_posix()
                        for p in media_dir.rglob("*")
                        if p.is_file()
                    )
                    if media_dir.exists()
                    else []
                )
            )

        def listing() -> list[str]:
            pages = _client(self.endpoint).get_paginator("list_objects_v2")
            found = []
            for page in pages.paginate(Bucket=self.bucket, Prefix=PREFIX + "/"):
                found += [item["Key"][len(PREFIX) + 1 :] for item in page.get("Contents", [])]
            return sorted(found)

        return await asyncio.to_thread(listing)

    async def read(self, media_dir: Path, key: str) -> bytes | None:
        if self.name == "local":
            path = media_dir / key
            return await asyncio.to_thread(path.read_bytes) if path.is_file() else None

        def get() -> bytes | None:
            try:
                got = _client(self.endpoint).get_object(Bucket=self.bucket, Key=f"{PREFIX}/{key}")
            except Exception as exc:  # botocore's NoSuchKey
                if "NoSuchKey" in repr(exc):
                    return None
                raise
            return bytes(got["Body"].read())

        return await asyncio.to_thread(get)

    async def delete(self, media_dir: Path, key: str) -> None:
        if self.name == "local":
            (media_dir / key).unlink()
            return
        await asyncio.to_thread(
            _client(self.endpoint).delete_object, Bucket=self.bucket, Key=f"{PREFIX}/{key}"
        )

    async def content_type(self, key: str) -> str:
        got = await asyncio.to_thread(
            _client(self.endpoint).head_object, Bucket=self.bucket, Key=f"{PREFIX}/{key}"
        )
        return str(got["ContentType"])


@pytest.fixture
def media_backend(request: pytest.FixtureRequest) -> MediaBackend:
    """The local folder unless parametrized (indirect) with "s3" or "s3-presign": then a new
    bucket on the session's moto server."""
    name = getattr(request, "param", "local")
    if name == "local":
        return MediaBackend("local")
    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"cunbot-{uuid.uuid4().hex[:16]}"
    _client(endpoint).create_bucket(Bucket=bucket)
    core = {
        "media_url": f"s3://{bucket}/{PREFIX}",
        "s3_endpoint_url": endpoint,
        "s3_access_key_id": KEY_ID,
        "s3_secret_access_key": SECRET,
        "s3_region": REGION,
        "s3_presign": name == "s3-presign",
    }
    return MediaBackend(name, endpoint, bucket, core)
