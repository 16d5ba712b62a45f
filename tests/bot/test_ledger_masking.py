"""A phone or ID number typed into a visit note never reaches the xlsx ledger in full."""

from __future__ import annotations

from openpyxl import load_workbook

from bot.reports import export_visits
from tests.chat import ChatDriver
from tests.factories import add_household, bind, make_world


async def test_notes_and_problem_descriptions_are_masked_in_the_ledger(
    sessionmaker, clock, rules, tmp_path
):
    w = await make_world(sessionmaker, clock.now())
    async with sessionmaker() as s, s.begin():
        await add_household(s, w.villages[0].id, "HH0001", "王三女", "监测户", clock.now())
    await bind(sessionmaker, w.people["sec0"], "test", "sec0", clock.now())
    chat = ChatDriver(sessionmaker, clock, rules)
    replies = await chat.send(
        "sec0",
        "走访 王三女 房子屋顶漏雨联系13812345678 儿子电话13987654321身份证110101199003071234",
    )
    shown = "\n".join(r.text for r in replies)
    assert "13812345678" not in shown and "138****5678" in shown
    await chat.press("sec0", "visit:confirm")
    out = tmp_path / "ledger.xlsx"
    async with sessionmaker() as s:
        result = await export_visits(s, w.villages[0].id, "2026-11", rules, out)
    assert result.visits == 1
    book = load_workbook(out)
    cells = [str(c.value) for ws in book.worksheets for row in ws.iter_rows() for c in row]
    text = "\n".join(cells)
    assert "13812345678" not in text and "13987654321" not in text
    assert "110101199003071234" not in text
    assert "138****5678" in text  # the problem description, masked
