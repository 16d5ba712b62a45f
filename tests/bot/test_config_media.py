"""The media settings: CUNBOT_MEDIA_URL picks the store, and a bad one stops the start with
one line naming it."""

from __future__ import annotations

import pytest

from bot.config import ConfigError, load_config
from services.media_store.local import LocalStore
from services.media_store.s3 import S3Location, S3Store


def test_without_a_media_url_media_stays_in_the_local_folder(tmp_path):
    store = load_config(media_dir=tmp_path / "m").media_store()
    assert isinstance(store, LocalStore) and store.root == tmp_path / "m"


def test_an_s3_media_url_names_bucket_and_prefix():
    config = load_config(
        media_url="s3://cunbot-media/prod/photos/",
        s3_endpoint_url="http://127.0.0.1:9000",
        s3_presign=True,
    )
    store = config.media_store()
    assert isinstance(store, S3Store) and store.presign
    assert store.settings.location == S3Location("cunbot-media", "prod/photos")
    assert store.object_name("ab/abc.jpg") == "prod/photos/ab/abc.jpg"
    assert S3Location.parse("s3://cunbot-media") == S3Location("cunbot-media", "")


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("media_url", "https://bucket/x"),
        ("media_url", "s3://Bad_Bucket/x"),
        ("media_url", "s3://bucket/../x"),
        ("s3_endpoint_url", "minio:9000"),
    ],
)
def test_a_bad_media_setting_is_refused_by_name(setting, value):
    with pytest.raises(ConfigError, match=f"CUNBOT_{setting.upper()}"):
        load_config(**{setting: value})


def test_keys_that_could_leave_the_prefix_are_refused():
    store = S3Store(load_config(media_url="s3://b-1/p").media_store().settings)
    for key in ("../x.jpg", "ab/../../x", "/ab/x.jpg", "ab//x.jpg", "ab\\x.jpg", ""):
        with pytest.raises(ValueError):
            store.object_name(key)


@pytest.mark.parametrize(
    ("style", "host"),
    [("auto", "oss-cn-hangzhou.aliyuncs.com"), ("virtual", "b-1.oss-cn-hangzhou.aliyuncs.com")],
)
async def test_addressing_style_decides_where_the_bucket_goes_in_a_link(style, host):
    config = load_config(
        media_url="s3://b-1/p",
        s3_endpoint_url="https://oss-cn-hangzhou.aliyuncs.com",
        s3_access_key_id="k",
        s3_secret_access_key="s",
        s3_region="oss-cn-hangzhou",
        s3_addressing_style=style,
    )
    async with config.media_store() as store:
        url = await store.presigned_url("ab/x.jpg", content_type="image/jpeg")
    path = "/p/ab/x.jpg" if style == "virtual" else "/b-1/p/ab/x.jpg"
    assert url.startswith(f"https://{host}{path}?") and "Expires=300" in url
