"""Drive the console like a browser: a real aiohttp client with its own cookie jar against
the real app on 127.0.0.1 (tests.webclient.webchat_server)."""

from __future__ import annotations

import re
from datetime import datetime
from html import unescape
from urllib.parse import parse_qs, urlsplit

import aiohttp
from sqlalchemy.ext.asyncio import async_sessionmaker

from services import console_auth
from storage.people import PersonDTO

PRE = re.compile(r'name="pre" value="([^"]+)"')
CSRF = re.compile(r'name="csrf" value="([^"]+)"')
TO = re.compile(r'name="to" value="([^"]+)"')


async def issue(sm: async_sessionmaker, person: PersonDTO, now: datetime, base_url: str) -> str:
    async with sm() as s, s.begin():
        link = await console_auth.issue_link(s, person, now=now, public_url=base_url, via="cli")
    return link.url


class Browser:
    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    async def __aenter__(self) -> Browser:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.close()

    def cookie(self, name: str) -> str | None:
        for c in self.http.cookie_jar:
            if c.key == name:
                return c.value
        return None

    async def get(self, path_or_url: str) -> tuple[int, str]:
        url = path_or_url if path_or_url.startswith("http") else self.base_url + path_or_url
        async with self.http.get(url, allow_redirects=False) as resp:
            return resp.status, unescape(await resp.text())

    async def post(self, path: str, data: dict[str, str], **kw: object) -> aiohttp.ClientResponse:
        async with self.http.post(
            self.base_url + path, data=data, allow_redirects=False, **kw
        ) as resp:
            await resp.read()
            return resp

    async def open_link(self, url: str) -> tuple[int, str]:
        """Open the link and press 进入工作台: (status of the POST, its page or Location)."""
        status, page = await self.get(url)
        if status != 200:
            return status, page
        token = parse_qs(urlsplit(url).query)["t"][0]
        pre = PRE.search(page)
        assert pre, page
        form = {"t": token, "pre": pre[1]}
        if to := TO.search(page):  # the page the link lands on, carried by the form
            form["to"] = to[1]
        resp = await self.post("/console/login", form)
        if resp.status == 303:
            return 303, resp.headers["Location"]
        return resp.status, ""

    async def sign_in(self, sm: async_sessionmaker, person: PersonDTO, now: datetime) -> None:
        status, where = await self.open_link(await issue(sm, person, now, self.base_url))
        assert (status, where) == (303, "/console"), (status, where)

    async def csrf(self) -> str:
        status, page = await self.get("/console")
        assert status == 200, page
        found = CSRF.search(page)
        assert found
        return found[1]
