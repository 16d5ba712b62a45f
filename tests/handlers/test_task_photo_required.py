"""A task marked 需要照片 is handed in with a photo or not at all, whatever the entry point."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.errors import Invalid
from services import task_work
from services.media import save_image_sync
from storage import people
from storage.models import Assignment
from tests.chat import ChatDriver
from tests.factories import bind, make_world, photo_bytes


async def test_task_needing_photo_refuses_text_only_submission(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now())
    for key in ("sec0", "county0"):
        await bind(sessionmaker, world.people[key], "test", key, clock.now())
    chat = ChatDriver(sessionmaker, clock, rules)
    await chat.dispatch("county0", "发任务 张贴明白纸 / 截止 3天内 / 范围 石门村 / 需要照片")
    async with sessionmaker() as s:
        aid = await s.scalar(sa.select(Assignment.id))

    start = await chat.say("sec0", f"提交 {aid} 已在公开栏张贴")
    assert "要求上传照片" in start
    refused = await chat.say("sec0", "好了")
    assert "请先发一张照片" in refused
    async with sessionmaker() as s:
        assert (await s.get(Assignment, aid)).status == "pending"

    # the use case itself refuses (the chat's buttons, the API and any channel go through it)
    async with sessionmaker() as s, s.begin():
        sec = await people.get(s, world.people["sec0"].id)
        with pytest.raises(Invalid, match="请先发一张照片"):
            await task_work.submit(
                s, sec, aid, texts=["已张贴"], photo_ids=[], now=clock.now(), rules=rules
            )

    # the flow kept the text: one photo and 好了 hand both in
    stored = save_image_sync(rules.media_dir, photo_bytes((3, 30, 90))).to_dict()
    assert "1 张照片" in "\n".join(r.text for r in await chat.photo("sec0", stored))
    assert "等待" in await chat.say("sec0", "好了")
    async with sessionmaker() as s:
        row = await s.get(Assignment, aid)
    assert row.status == "submitted"
    assert row.evidence["texts"] == ["已在公开栏张贴"] and len(row.evidence["photo_ids"]) == 1
