"""户 edits in the console: township and county staff change a household's category and
helper, add one and retire or restore one within their scope; every change leaves an audit
row with before and after, shown as the household's change history; village cadres read only;
retired households leave quotas, coverage and search but keep their visits and problems."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from storage.models import Audit, Household, Problem, Visit
from storage.readmodels.coverage import village_progress
from tests.bot.web.console_data import QUOTAS, populate
from tests.bot.web.console_kit import Browser
from tests.webclient import webchat_server


@pytest.fixture
async def site(sessionmaker, clock, rules, database_url, tmp_path):
    facts = await populate(sessionmaker, clock, replace(rules, visit_quotas=dict(QUOTAS)))
    async with webchat_server(
        database_url, tmp_path, clock, run_workers=False, visit_quotas=QUOTAS
    ) as server:
        yield facts, server


async def _household(sm, household_id: int) -> Household:
    async with sm() as s:
        h = await s.get(Household, household_id)
        assert h is not None
        return h


async def _audits(sm, action_prefix: str = "household.") -> list[Audit]:
    async with sm() as s:
        return list(
            await s.scalars(
                sa.select(Audit).where(Audit.action.startswith(action_prefix)).order_by(Audit.id)
            )
        )


async def _signed(browser: Browser, sm, facts, who: str, clock) -> str:
    await browser.sign_in(sm, facts.world.people[who], clock.now())
    return await browser.csrf()


async def test_township_staff_edits_category_and_helper_and_sees_it_in_the_history(
    site, sessionmaker, clock
):
    facts, server = site
    hid = facts.households["v1a"]  # 赵四, 监测户, 柳树村 of 东岭镇
    async with Browser(server.base_url) as browser:
        csrf = await _signed(browser, sessionmaker, facts, "town0", clock)
        _, before = await browser.get(f"/console/households/{hid}")
        assert 'id="edit-form"' in before and "还没有在工作台上修改过" in before
        resp = await browser.post(
            f"/console/households/{hid}/edit",
            {"csrf": csrf, "category": "脱贫户", "helper": "书记1"},
        )
        assert resp.status == 303
        assert resp.headers["Location"] == f"/console/households/{hid}?done=edited"
        _, page = await browser.get(resp.headers["Location"])
        again = await browser.post(
            f"/console/households/{hid}/edit",
            {"csrf": csrf, "category": "脱贫户", "helper": "书记1"},
        )
    h = await _household(sessionmaker, hid)
    assert (h.category, h.helper_name, h.helper_id) == (
        "脱贫户",
        "书记1",
        facts.world.people["sec1"].id,
    )
    [row] = await _audits(sessionmaker)
    assert row.action == "household.edit" and row.object == f"household:{hid}"
    assert row.person_id == facts.world.people["town0"].id
    assert row.detail["before"] == {"category": "监测户", "helper": None}
    assert row.detail["after"] == {"category": "脱贫户", "helper": "书记1"}
    history = page.split('id="history"', 1)[1]
    assert "户类别：监测户 → 脱贫户" in history and "帮扶责任人：— → 书记1" in history
    assert "乡干部0" in history and "已保存修改" in page
    # Saving the same values again changes nothing and writes no audit row.
    assert again.headers["Location"].endswith("?done=unchanged")
    assert len(await _audits(sessionmaker)) == 1


async def test_an_edit_that_breaks_a_rule_comes_back_in_chinese_and_changes_nothing(
    site, sessionmaker, clock
):
    facts, server = site
    hid = facts.households["v1a"]
    cases = (
        ({"category": "富裕户", "helper": ""}, "户类别「富裕户」不对"),
        ({"category": "", "helper": ""}, "户类别「」不对"),
        ({"category": "脱贫户", "helper": "名" * 65}, "太长"),
        ({"category": "脱贫户", "helper": "a\nb"}, "只能写一行"),
    )
    async with Browser(server.base_url) as browser:
        csrf = await _signed(browser, sessionmaker, facts, "county0", clock)
        for fields, words in cases:
            async with browser.http.post(
                f"{server.base_url}/console/households/{hid}/edit",
                data={"csrf": csrf, **fields},
            ) as resp:
                page = await resp.text()
            assert resp.status == 400 and words in page, (fields, words)
        async with browser.http.post(
            f"{server.base_url}/console/households/{hid}/edit",
            data={"csrf": csrf, "category": "富裕户", "helper": "书记1"},
        ) as resp:
            page = await resp.text()
        assert 'value="书记1"' in page  # what was typed comes back
        # Without the form's token nothing is changed.
        forged = await browser.post(f"/console/households/{hid}/edit", {"category": "一般户"})
        assert forged.status == 403
    assert (await _household(sessionmaker, hid)).category == "监测户"
    assert await _audits(sessionmaker) == []


async def test_a_secretary_reads_the_household_but_cannot_change_it(site, sessionmaker, clock):
    facts, server = site
    hid = facts.households["v0a"]  # 王大, in the secretary's own village
    async with Browser(server.base_url) as browser:
        csrf = await _signed(browser, sessionmaker, facts, "sec0", clock)
        status, page = await browser.get(f"/console/households/{hid}")
        assert status == 200 and "王大" in page
        assert 'id="edit-form"' not in page and "注销这户" not in page
        _, listing = await browser.get("/console/households")
        assert 'id="new-household"' not in listing
        assert (await browser.get("/console/households/new"))[0] == 403
        assert (await browser.get(f"/console/households/{hid}/retire"))[0] == 403
        for path, data in (
            (f"/console/households/{hid}/edit", {"category": "一般户", "helper": ""}),
            (f"/console/households/{hid}/retire", {"reason": "搬走了"}),
            (f"/console/households/{hid}/restore", {}),
            (
                "/console/households/new",
                {
                    "village": str(facts.world.villages[0].id),
                    "code": "A900",
                    "head_name": "新户",
                    "category": "一般户",
                    "members": "2",
                },
            ),
        ):
            resp = await browser.post(path, {"csrf": csrf, **data})
            assert resp.status == 403, path
    h = await _household(sessionmaker, hid)
    assert (h.category, h.active) == ("监测户", True)
    assert await _audits(sessionmaker) == []


async def test_adding_a_household_checks_every_field_and_audits_the_new_values(
    site, sessionmaker, clock
):
    facts, server = site
    w = facts.world
    good = {
        "village": str(w.villages[1].id),
        "code": "B100",
        "head_name": "吴九",
        "category": "边缘易致贫户",
        "members": "5",
        "helper": "书记1",
        "phone": "13912345678",
    }
    bad = (
        ({"village": str(w.villages[2].id)}, "请选择本辖区内的一个村"),  # other township
        ({"village": str(facts.away.villages[0].id)}, "请选择本辖区内的一个村"),
        ({"village": str(w.townships[0].id)}, "请选择本辖区内的一个村"),  # not a village
        ({"village": "abc"}, "请选择本辖区内的一个村"),
        ({"code": ""}, "请填写户编号"),
        ({"code": "A001"}, "户编号 A001 已经有了"),
        ({"code": "a001"}, "户编号 a001 已经有了"),
        ({"code": "Z001"}, "户编号 Z001 已经有了"),  # another county's code: still unique
        ({"code": "B 1"}, "户编号只能由"),
        ({"code": "X" * 33}, "户编号太长"),
        ({"head_name": "  "}, "请填写户主姓名"),
        ({"head_name": "吴" * 65}, "户主姓名」太长"),
        ({"category": "贫困户"}, "户类别「贫困户」不对"),
        ({"members": "0"}, "家庭人口应是 1 到 30"),
        ({"members": "31"}, "家庭人口应是 1 到 30"),
        ({"members": "２"}, "家庭人口应是 1 到 30"),
        ({"members": "-1"}, "家庭人口应是 1 到 30"),
        ({"phone": "打电话"}, "联系电话格式不对"),
        ({"phone": "1" * 25}, "联系电话格式不对"),
    )
    async with Browser(server.base_url) as browser:
        csrf = await _signed(browser, sessionmaker, facts, "town0", clock)
        status, form = await browser.get("/console/households/new")
        assert status == 200 and "柳树村" in form and "杏花村" not in form
        for change, words in bad:
            async with browser.http.post(
                f"{server.base_url}/console/households/new",
                data={"csrf": csrf, **good, **change},
                allow_redirects=False,
            ) as resp:
                page = await resp.text()
            assert resp.status == 400, change
            assert words in page, (change, words)
        resp = await browser.post("/console/households/new", {"csrf": csrf, **good})
        assert resp.status == 303
        where = resp.headers["Location"]
        new_id = int(where.split("/console/households/")[1].split("?")[0])
        _, page = await browser.get(where)
        _, found = await browser.get("/console/households?q=吴九")
    assert "吴九" in page and "边缘易致贫户" in page and "5 人" in page and "已添加" in page
    assert "139****5678" in page and "13912345678" not in page
    assert "添加" in page.split('id="history"', 1)[1] and "B100" in found
    h = await _household(sessionmaker, new_id)
    assert (h.village_id, h.helper_id, h.active) == (w.villages[1].id, w.people["sec1"].id, True)
    [row] = await _audits(sessionmaker)
    assert row.action == "household.create"
    assert row.detail["after"]["phone"] == "139****5678"  # the audit keeps no phone in full
    assert row.detail["after"]["category"] == "边缘易致贫户"
    async with sessionmaker() as s:
        n = await s.scalar(sa.select(sa.func.count()).select_from(Household))
    assert n == 9  # the 8 of the fixture and this one: no failed form wrote anything


async def test_retiring_asks_first_needs_a_reason_and_takes_the_household_out_of_the_counts(
    site, sessionmaker, clock, rules
):
    facts, server = site
    hid = facts.households["v1a"]
    village = facts.world.villages[1].id
    month = f"{clock.now().astimezone(rules.timezone):%Y-%m}"
    policy = replace(rules, visit_quotas=dict(QUOTAS)).quota_policy
    async with sessionmaker() as s:
        before = {p.household_id for p in await village_progress(s, village, month, policy)}
    assert hid in before
    async with Browser(server.base_url) as browser:
        csrf = await _signed(browser, sessionmaker, facts, "town0", clock)
        status, ask = await browser.get(f"/console/households/{hid}/retire")
        assert status == 200 and "确认注销" in ask and "赵四" in ask
        assert (await _household(sessionmaker, hid)).active  # asking changes nothing
        empty = await browser.post(f"/console/households/{hid}/retire", {"csrf": csrf})
        long_ = await browser.post(
            f"/console/households/{hid}/retire", {"csrf": csrf, "reason": "长" * 101}
        )
        assert empty.status == long_.status == 400
        assert (await _household(sessionmaker, hid)).active
        resp = await browser.post(
            f"/console/households/{hid}/retire",
            {"csrf": csrf, "reason": "全家迁往外省，联系13600001111"},
        )
        assert resp.status == 303 and resp.headers["Location"].endswith("?done=retired")
        _, page = await browser.get(resp.headers["Location"])
        _, search = await browser.get("/console/households?q=赵")
        _, with_retired = await browser.get("/console/households?q=赵&retired=1")
        twice = await browser.post(
            f"/console/households/{hid}/retire", {"csrf": csrf, "reason": "再来"}
        )
        edit = await browser.post(
            f"/console/households/{hid}/edit", {"csrf": csrf, "category": "一般户", "helper": ""}
        )
        async with sessionmaker() as s:
            after = {p.household_id for p in await village_progress(s, village, month, policy)}
            visits = await s.scalar(
                sa.select(sa.func.count()).select_from(Visit).where(Visit.household_id == hid)
            )
            problems = await s.scalar(
                sa.select(sa.func.count()).select_from(Problem).where(Problem.household_id == hid)
            )
        too_long = await browser.post(
            f"/console/households/{hid}/restore", {"csrf": csrf, "reason": "长" * 101}
        )
        assert too_long.status == 400 and not (await _household(sessionmaker, hid)).active
        restored = await browser.post(
            f"/console/households/{hid}/restore", {"csrf": csrf, "reason": "已回村居住"}
        )
        _, back = await browser.get(f"/console/households/{hid}")
    assert 'id="retired"' in page and "恢复这户" in page and 'id="edit-form"' not in page
    assert "屋顶漏雨" in page and "住房安全：有问题" in page  # problems and visits stay
    history = page.split('id="history"', 1)[1]
    assert "注销" in history and "状态：在册 → 已注销" in history
    assert "原因：全家迁往外省，联系136****1111" in history and "13600001111" not in page
    assert "赵四" not in search.split("<main>", 1)[1] and "B001" in with_retired
    assert twice.status == 409 and edit.status == 409
    assert hid not in after and (visits, problems) == (1, 1)
    assert restored.status == 303 and (await _household(sessionmaker, hid)).active
    assert "状态：已注销 → 在册" in back and "原因：已回村居住" in back
    actions = [r.action for r in await _audits(sessionmaker)]
    assert actions == ["household.retire", "household.restore"]
    retire_row = (await _audits(sessionmaker))[0]
    assert retire_row.detail["before"] == {"active": True}
    assert retire_row.detail["after"] == {"active": False}
    async with sessionmaker() as s:
        again = {p.household_id for p in await village_progress(s, village, month, policy)}
    assert hid in again


async def test_household_forms_answer_odd_input_without_a_server_error(site, sessionmaker, clock):
    facts, server = site
    hid = facts.households["v1a"]
    odd = ("", "-1", "abc", "\x00", "%ff", "9" * 40, "<script>", "' OR 1=1 --", "é" * 300, "\u200b")
    async with Browser(server.base_url) as browser:
        csrf = await _signed(browser, sessionmaker, facts, "county0", clock)
        for value in odd:
            for path, names in (
                ("/console/households/new", ("village", "code", "head_name", "category",
                                             "members", "helper", "phone")),
                (f"/console/households/{hid}/edit", ("category", "helper")),
                (f"/console/households/{hid}/retire", ("reason",)),
                (f"/console/households/{value or 'x'}/edit", ("category",)),
            ):  # fmt: skip
                data = {"csrf": csrf, **dict.fromkeys(names, value)}
                async with browser.http.post(
                    server.base_url + path, data=data, allow_redirects=False
                ) as resp:
                    raw = await resp.text()
                assert resp.status < 500, (path, value, resp.status)
                assert "<script>" not in raw, path
    # No odd value is a category; the first odd reason retired it, the rest met 已注销.
    h = await _household(sessionmaker, hid)
    assert h.category == "监测户" and not h.active
