"""One contract for both media stores (the local folder and S3 on the session's moto server):
stored once by key, read back with its size and type, missing keys and keys that would leave
the root answered as missing or refused; and what an unreachable store does."""

from __future__ import annotations

import hashlib

import pytest

from bot.config import load_config
from services import media
from services.media_store import MediaStore, MediaUnavailable
from tests.factories import photo_bytes
from tests.s3server import _free_port


@pytest.fixture(params=["local", "s3"])
async def store(request, tmp_path):
    core = _s3_core(request) if request.param == "s3" else {}
    # No database here: the PgBouncer run's CUNBOT_DB_POOLER would not fit the default SQLite.
    config = load_config(media_dir=tmp_path / "media", db_pooler="none", **core)
    async with config.media_store() as opened:
        yield opened


def _s3_core(request) -> dict:
    from tests.s3server import KEY_ID, PREFIX, REGION, SECRET, _client

    endpoint = request.getfixturevalue("s3_endpoint")
    bucket = f"contract-{hashlib.sha256(request.node.nodeid.encode()).hexdigest()[:16]}"
    _client(endpoint).create_bucket(Bucket=bucket)
    return {
        "media_url": f"s3://{bucket}/{PREFIX}",
        "s3_endpoint_url": endpoint,
        "s3_access_key_id": KEY_ID,
        "s3_secret_access_key": SECRET,
        "s3_region": REGION,
    }


async def test_bytes_are_stored_once_and_read_back(store: MediaStore):
    data = photo_bytes((5, 6, 7))
    key = str(media.content_path(hashlib.sha256(data).hexdigest(), ".png"))
    assert not await store.exists(key) and await store.read(key) is None
    assert await store.put_bytes(key, data, "image/png") is True
    assert await store.put_bytes(key, data, "image/png") is False  # already there
    assert await store.exists(key) and await store.read(key) == data
    info = await store.head(key)
    assert info is not None and (info.size, info.content_type) == (len(data), "image/png")


async def test_a_file_is_copied_once_and_left_in_place(store: MediaStore, tmp_path):
    source = tmp_path / "staged.pdf"
    source.write_bytes(b"%PDF-1.4 a small file")
    key = "ab/" + "ab" * 32 + ".pdf"
    assert await store.put_file(key, source, "application/pdf") is True
    assert await store.put_file(key, source, "application/pdf") is False
    assert source.exists() and await store.read(key) == source.read_bytes()
    info = await store.head(key)
    assert info is not None and info.content_type == "application/pdf"


@pytest.mark.parametrize("key", ["../secret", "ab/../../x.jpg", "/etc/passwd", "ab//x", ""])
async def test_keys_that_leave_the_root_are_missing_or_refused(store: MediaStore, key):
    assert await store.read(key) is None
    assert await store.head(key) is None and not await store.exists(key)
    with pytest.raises(ValueError):
        await store.put_bytes(key, b"x", "text/plain")


async def test_thumbnail_is_made_from_the_stored_photo_and_kept(store: MediaStore):
    stored = await media.save_image(store, photo_bytes((90, 10, 10)))
    assert await store.read(stored.thumb_path) is not None
    key = await media.thumbnail(store, stored.sha256, stored.path)
    assert key == stored.thumb_path
    assert await media.thumbnail(store, stored.sha256, "ab/missing.jpg") == key  # kept
    assert await media.thumbnail(store, "0" * 64, "00/" + "0" * 64 + ".png") is None


async def test_an_unreachable_store_is_unavailable_not_missing():
    nobody = f"http://127.0.0.1:{_free_port()}"
    config = load_config(
        media_url="s3://cunbot-media/x",
        s3_endpoint_url=nobody,
        s3_access_key_id="k",
        s3_secret_access_key="s",
        s3_region="us-east-1",
        db_pooler="none",
    )
    async with config.media_store() as down:
        with pytest.raises(MediaUnavailable):  # after botocore's retries (3 attempts)
            await media.save_image(down, photo_bytes((1, 1, 1)))
