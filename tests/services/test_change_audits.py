"""Changes that used to leave no trace are audited: 收到, 设置, API tokens, household import."""

from __future__ import annotations

import sqlalchemy as sa

from bot.household_import import import_file
from core.payloads import ItemAck
from services import tasks as task_service
from services import tokens
from storage.models import Audit
from tests.bot.test_households_import import GOOD, write_csv
from tests.chat import ChatDriver
from tests.factories import bind, make_world


async def audit_rows(sm, action: str) -> list[Audit]:
    async with sm() as s:
        return list(await s.scalars(sa.select(Audit).where(Audit.action == action)))


async def test_ack_and_settings_from_chat_are_audited(sessionmaker, clock, rules):
    w = await make_world(sessionmaker, clock.now())
    sec = w.people["sec0"]
    await bind(sessionmaker, sec, "test", "sec0", clock.now())
    async with sessionmaker() as s, s.begin():
        draft = task_service.TaskDraft(kind="notice", title="通知", scope={"villages": ["石门村"]})
        made = await task_service.create_task(
            s, w.people["county0"], draft, now=clock.now(), rules=rules
        )
    chat = ChatDriver(sessionmaker, clock, rules)
    await chat.press("sec0", ItemAck("t", made.task.number).pack())
    [ack] = await audit_rows(sessionmaker, "task.ack")
    assert (ack.person_id, ack.object) == (sec.id, f"assignment:{made.items[0].id}")
    await chat.say("sec0", "设置 早报 07:30")
    await chat.say("sec0", "设置 晚报 关")
    rows = await audit_rows(sessionmaker, "settings.digest")
    assert [(r.person_id, r.detail) for r in rows] == [
        (sec.id, {"digest": "morning", "on": True, "at": "07:30"}),
        (sec.id, {"digest": "evening", "on": False, "at": None}),
    ]


async def test_token_create_and_revoke_are_audited(sessionmaker, clock):
    w = await make_world(sessionmaker, clock.now())
    staff = w.people["county0"]
    async with sessionmaker() as s, s.begin():
        await tokens.create(s, None, staff, now=clock.now())
        assert await tokens.revoke(s, None, staff, now=clock.now()) == 1
    [made] = await audit_rows(sessionmaker, "token.create")
    [revoked] = await audit_rows(sessionmaker, "token.revoke")
    assert made.object == revoked.object == f"person:{staff.id}"
    assert revoked.detail == {"revoked": 1}


async def test_a_household_import_leaves_one_audit_row_with_counts(sessionmaker, clock, tmp_path):
    await make_world(sessionmaker, clock.now())
    report = await import_file(sessionmaker, write_csv(tmp_path / "r.csv", GOOD), clock.now())
    assert report.ok
    [row] = await audit_rows(sessionmaker, "households.import")
    assert row.detail["created"] == report.created > 0 and row.detail["errors"] == 0
    await import_file(sessionmaker, tmp_path / "missing.csv", clock.now())
    [failed] = await audit_rows(sessionmaker, "households.import_failed")
    assert failed.detail["errors"] == 1


async def test_a_refusal_is_audited_and_logged_after_the_rollback(
    sessionmaker, clock, rules, caplog
):
    w = await make_world(sessionmaker, clock.now())
    await bind(sessionmaker, w.people["sec0"], "test", "sec0", clock.now())
    chat = ChatDriver(sessionmaker, clock, rules)
    caplog.set_level("INFO", logger="services.audit_refusals")
    await chat.say("sec0", "通过 12 电话13812345678")
    [row] = await audit_rows(sessionmaker, "refused")
    assert row.person_id == w.people["sec0"].id
    assert row.object == "通过 12 电话138****5678"
    assert row.detail["action"] == "通过" and row.detail["reason"] == "forbidden"
    assert f"refused person={w.people['sec0'].id} action=通过" in caplog.text
    await chat.say("stranger", "通过 12")  # unbound: logged, no row
    assert len(await audit_rows(sessionmaker, "refused")) == 1
