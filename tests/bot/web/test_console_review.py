"""Reviewing a village's submission in the console: the text and photos side by side (the
photos through the console's media route, scope checked on every request), 通过, and 退回
with a required reason, through the chat's use cases."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest
import sqlalchemy as sa

from bot.appkeys import MEDIA
from storage.models import Audit
from tests.bot.web.console_data import QUOTAS, populate
from tests.bot.web.console_forms_kit import SHANGHAI, item_of, outbox_states, submitted
from tests.bot.web.console_kit import Browser
from tests.fakes.harness import amr_bytes
from tests.webclient import webchat_server


@pytest.fixture
async def site(sessionmaker, clock, rules, database_url, tmp_path, media_backend):
    facts = await populate(sessionmaker, clock, replace(rules, visit_quotas=dict(QUOTAS)))
    async with webchat_server(
        database_url,
        tmp_path,
        clock,
        run_workers=False,
        visit_quotas=QUOTAS,
        **media_backend.core,
    ) as server:
        yield facts, server, tmp_path / "var" / "media"


@pytest.mark.parametrize("media_backend", ["local", "s3", "s3-presign"], indirect=True)
async def test_review_page_shows_text_and_photos_and_approves(
    site, sessionmaker, clock, rules, media_backend
):
    facts, server, _media_dir = site
    w = facts.world
    store = server.app[MEDIA]
    number, vid, path, thumb = await submitted(sessionmaker, facts, clock, rules, store)
    base = f"/console/tasks/{number}/villages/{vid}"
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["county0"], clock.now())
        status, page = await browser.get(f"/console/tasks/{number}")
        assert f'href="{base}"' in page  # the 已提交 row links to the submission
        status, page = await browser.get(base)
        assert status == 200
        assert "三户危房已拍照" in page
        assert f'src="/console/media/{thumb}"' in page and f'href="/console/media/{path}"' in page
        async with browser.http.get(server.url(f"/console/media/{thumb}")) as resp:
            assert resp.status == 200 and resp.content_type == "image/jpeg"
            assert (await resp.read())[:3] == b"\xff\xd8\xff"
        async with browser.http.get(server.url(f"/console/media/{path}")) as resp:
            assert resp.status == 200 and await resp.read() == await store.read(path)
        resp = await browser.post(base + "/approve", {"csrf": await browser.csrf()})
        assert resp.status == 303 and resp.headers["Location"] == base + "?done=approved"
        status, page = await browser.get(base + "?done=approved")
        assert "已通过" in page and 'id="approve"' not in page
    item = await item_of(sessionmaker, number, vid)
    assert item.status == "approved"
    queued = await outbox_states(sessionmaker, [f"task:{item.id}:approved"])
    assert queued == {f"task:{item.id}:approved": "pending"}  # the village is told
    async with sessionmaker() as s:
        assert await s.scalar(
            sa.select(Audit.id).where(
                Audit.action == "task.approve", Audit.object == f"assignment:{item.id}"
            )
        )
    # Outside the scope: the other township's officer and another county see neither the
    # submission nor the photo.
    for who in (w.people["town1"], facts.away.people["county"]):
        async with Browser(server.base_url) as browser:
            await browser.sign_in(sessionmaker, who, clock.now())
            status, page = await browser.get(base)
            assert status == 404 and "三户危房" not in page
            for rel in (thumb, path):
                async with browser.http.get(server.url(f"/console/media/{rel}")) as resp:
                    assert resp.status == 404
                    assert (await resp.read())[:3] != b"\xff\xd8\xff"


async def test_review_page_plays_the_submissions_voice_note_only_in_scope(
    site, sessionmaker, clock, rules
):
    """A voice note handed in with a submission: an <audio> beside the photos (not counted as
    one), served through the console's media route; outside the scope 404 like no file."""
    facts, server, media_dir = site
    voice = amr_bytes(b"t")
    number, vid, _path, _thumb = await submitted(
        sessionmaker, facts, clock, rules, media_dir, voice=voice
    )
    base = f"/console/tasks/{number}/villages/{vid}"
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["county0"], clock.now())
        status, page = await browser.get(base)
        [src] = [
            part.split('"')[0] for part in page.split('<audio controls preload="none" src="')[1:]
        ]
        async with browser.http.get(server.url(src)) as resp:
            assert resp.status == 200 and await resp.read() == voice
    assert status == 200 and "语音（1 段）" in page and "照片（1 张）" in page
    assert src.startswith("/console/media/") and src.endswith(".amr")
    for who in (facts.world.people["town1"], facts.away.people["county"]):
        async with Browser(server.base_url) as browser:
            await browser.sign_in(sessionmaker, who, clock.now())
            async with browser.http.get(server.url(src)) as resp:
                assert resp.status == 404


async def test_return_needs_a_reason(site, sessionmaker, clock, rules):
    facts, server, media_dir = site
    number, vid, _path, _thumb = await submitted(sessionmaker, facts, clock, rules, media_dir)
    base = f"/console/tasks/{number}/villages/{vid}"
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["county0"], clock.now())
        csrf = await browser.csrf()
        async with browser.http.post(
            server.url(base + "/return"),
            data={"csrf": csrf, "reason": "  ", "deadline": "2026-11-15T12:00"},
        ) as resp:
            page = await resp.text()
            assert resp.status == 400
        assert "请填写退回原因" in page and 'value="2026-11-15T12:00"' in page
        assert (await item_of(sessionmaker, number, vid)).status == "submitted"
        resp = await browser.post(
            base + "/return",
            {"csrf": csrf, "reason": "照片看不清门牌", "deadline": "2026-11-15T12:00"},
        )
        assert resp.status == 303 and resp.headers["Location"] == base + "?done=returned"
    item = await item_of(sessionmaker, number, vid)
    assert (item.status, item.return_reason) == ("returned", "照片看不清门牌")
    assert item.deadline is not None
    assert item.deadline.astimezone(SHANGHAI) == datetime(2026, 11, 15, 12, 0, tzinfo=SHANGHAI)
    assert await outbox_states(sessionmaker, [f"task:{item.id}:returned:1"]) == {
        f"task:{item.id}:returned:1": "pending"
    }
