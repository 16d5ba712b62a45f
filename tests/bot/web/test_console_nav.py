"""The console's navigation offers only the pages the signed-in person may open: every link
of every role's nav answers 200, and a page left out (问答 below the county) answers 403 when
typed in; the overview's 待答复 figure links to 问答 only for those who may open it."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from tests.bot.web.console_data import QUOTAS, populate
from tests.bot.web.console_kit import Browser
from tests.webclient import webchat_server

NAV = re.compile(r"<nav>(.*?)</nav>", re.S)
LINK = re.compile(r'<a href="([^"]+)"[^>]*>([^<]+)</a>')
EVERY_PAGE = {
    "/console",
    "/console/tasks",
    "/console/households",
    "/console/visits",
    "/console/problems",
    "/console/faq",
    "/console/exports",
    "/console/people",
}
# Which nav pages each role sees: 问答 is county staff's (services.faq.require_answerer).
EXPECTED = {
    "county0": EVERY_PAGE,
    "town0": EVERY_PAGE - {"/console/faq"},
    "sec0": EVERY_PAGE - {"/console/faq"},
}


def _nav(page: str) -> dict[str, str]:
    found = NAV.search(page)
    assert found is not None
    return dict(LINK.findall(found.group(1)))


@pytest.fixture
async def site(sessionmaker, clock, rules, database_url, tmp_path):
    facts = await populate(sessionmaker, clock, replace(rules, visit_quotas=dict(QUOTAS)))
    async with webchat_server(
        database_url, tmp_path, clock, run_workers=False, visit_quotas=QUOTAS
    ) as server:
        yield facts, server


@pytest.mark.parametrize("who", sorted(EXPECTED))
async def test_the_nav_shows_exactly_the_pages_the_person_may_open(site, sessionmaker, clock, who):
    facts, server = site
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people[who], clock.now())
        status, overview = await browser.get("/console")
        assert status == 200
        nav = _nav(overview)
        assert set(nav) == EXPECTED[who]
        assert ("问答" in nav.values()) == ("/console/faq" in EXPECTED[who])
        for path in EVERY_PAGE:
            status, page = await browser.get(path)
            assert status == (200 if path in EXPECTED[who] else 403), (who, path, status)
            assert set(_nav(page)) == EXPECTED[who]  # the same nav on every page, 403 too
        question_link = 'id="stat-questions"><a href="/console/faq"'
        assert (question_link in overview) == ("/console/faq" in EXPECTED[who])
