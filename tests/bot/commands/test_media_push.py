"""``cunbot media push-to-s3`` as a real subprocess against the local moto server: the local
folder's files land under the bucket's prefix with their content types, once."""

from __future__ import annotations

import pytest

from services import media
from tests.bot.commands.test_cli import cli  # noqa: F401 (fixture)
from tests.factories import photo_bytes


@pytest.mark.parametrize("media_backend", ["s3"], indirect=True)
async def test_push_to_s3_copies_the_folder_once_and_can_run_again(
    cli,  # noqa: F811
    media_backend,
    tmp_path,
):
    folder = tmp_path / "var" / "media"
    photo = media.save_image_sync(folder, photo_bytes((1, 2, 3)))
    voice = media.save_voice_sync(folder, b"#!AMR\n" + bytes(300))
    (folder / "ab").mkdir()
    (folder / "ab" / "half.jpg.123.tmp").write_bytes(b"a write under way")
    env = {f"CUNBOT_{k.upper()}": str(v) for k, v in media_backend.core.items()}

    code, out, err = await cli("media", "push-to-s3", **env)
    assert code == 0, err
    assert out.strip() == "3/3 copied=3 already_there=0 skipped=1"
    assert await media_backend.keys(folder) == sorted([photo.path, photo.thumb_path, voice.path])
    assert await media_backend.content_type(photo.path) == "image/png"
    assert await media_backend.content_type(voice.path) == "audio/amr"

    code, out, err = await cli("media", "push-to-s3", **env)
    assert code == 0, err
    assert out.strip() == "3/3 copied=0 already_there=3 skipped=1"


async def test_push_to_s3_needs_an_s3_media_url(cli):  # noqa: F811
    code, _out, err = await cli("media", "push-to-s3")
    assert code == 2 and "CUNBOT_MEDIA_URL" in err
