"""Voice notes from the web chat's 🎤 button, over the real server (aiohttp, WebSocket, upload):
stored by the bytes, attached to the open visit, once per client id, played from /media/."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from services import media
from storage.models import Photo, Visit
from tests.handlers.test_visits_webchat import buttons, jpeg, setup  # noqa: F401 (fixture)
from tests.webclient import webchat_server


def webm_bytes(tag: bytes = b"w") -> bytes:
    """A small WebM (EBML header, as Chromium's MediaRecorder writes it)."""
    return b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01\x42\xf7\x81\x01" + b"\x42\x82\x84webm" + tag * 64


@pytest.mark.parametrize("media_backend", ["local", "s3"], indirect=True)
async def test_voice_during_a_visit_is_attached_once_and_played_back(
    setup,  # noqa: F811
    database_url,
    tmp_path,
    clock,
    sessionmaker,
    media_backend,
):
    household_id, code = setup
    voice = webm_bytes()
    async with webchat_server(database_url, tmp_path, clock, **media_backend.core) as server:
        async with server.client() as web:
            await web.bind(code)
            await web.send("走访")
            await web.press(f"visit:hh:{household_id}", "王三女")
            for item in ("water", "education", "medical", "housing", "income"):
                await web.press(f"visit:chk:{item}:ok")
            await web.press("visit:skip")
            status, body = await web.upload(voice, "voice.webm", field="voice", id="v1")
            assert status == 200, body
            assert "已收到语音" in body["frames"][0]["text"]
            assert body["image"] is None and body["audio"].startswith("/media/")
            assert body["audio"].endswith(".webm") and not body["duplicate"]
            # The page lost the answer and sends again with the same id: stored once.
            status, again = await web.upload(voice, "voice.webm", field="voice", id="v1")
            assert status == 200 and again["duplicate"]
            got, played = await web.get(body["audio"])
            assert got == 200 and played == voice
            key = body["audio"].removeprefix("/media/")
            assert await media_backend.keys(tmp_path / "var" / "media") == [key]
            # Seeking in the player: a range of the recording, and HEAD for its length.
            url = server.url(body["audio"])
            async with web.http.get(url, headers={"Range": "bytes=4-19"}) as resp:
                assert resp.status == 206 and await resp.read() == voice[4:20]
                assert resp.headers["Content-Range"] == f"bytes 4-19/{len(voice)}"
            async with web.http.head(url) as resp:
                assert resp.status == 200 and resp.content_length == len(voice)
                # The store keeps the type the bytes showed; the folder's is guessed from
                # the name (video/webm), as before object storage.
                want = "video/webm" if media_backend.name == "local" else "audio/webm"
                assert resp.content_type == want
            history = await web.reconnect()
            mine = [m for m in history["messages"] if m["client_id"] == "v1"]
            assert [m["audio"] for m in mine] == [body["audio"]]
            assert mine[0]["image"] is None
            await web.press("visit:next")
            await web.location(30.25, 120.16, "王三女家")
            saved = await web.press("visit:confirm")
            assert "已保存 王三女" in saved[0]["text"]
    async with sessionmaker() as s:
        [visit] = (await s.scalars(sa.select(Visit))).all()
        [row] = (await s.scalars(sa.select(Photo))).all()
    assert (row.kind, row.visit_id, row.mime) == ("voice", visit.id, "audio/webm")


async def test_a_voice_without_a_visit_asks_which_household(
    setup,  # noqa: F811
    database_url,
    tmp_path,
    clock,
    sessionmaker,
):
    household_id, code = setup
    async with webchat_server(database_url, tmp_path, clock) as server:
        async with server.client() as web:
            await web.bind(code)
            status, body = await web.upload(webm_bytes(b"x"), "voice.webm", field="voice")
            assert status == 200
            assert "这是哪一户的走访语音" in body["frames"][0]["text"]
            assert f"visit:ph:{household_id}:1" in buttons(body["frames"])


async def test_bytes_that_are_not_audio_are_refused_in_chinese(
    setup,  # noqa: F811
    database_url,
    tmp_path,
    clock,
    sessionmaker,
):
    _household_id, code = setup
    async with webchat_server(database_url, tmp_path, clock) as server:
        async with server.client() as web:
            await web.bind(code)
            for data in (jpeg(), b"<html>not a recording</html>"):
                status, body = await web.upload(data, "voice.webm", "audio/webm", field="voice")
                assert (status, body["ok"], body["text"]) == (415, False, media.NOT_VOICE)
            # Over the voice limit (5 MB, below the photo limit of 10 MB): 413, in Chinese.
            big = webm_bytes() + bytes(media.MAX_VOICE_BYTES)
            status, body = await web.upload(big, "voice.webm", field="voice")
            assert status == 413 and "语音太长了" in body["text"]
    async with sessionmaker() as s:
        assert (await s.scalar(sa.select(sa.func.count()).select_from(Photo))) == 0
