"""Hostile input to every channel, over the wire: no 5xx, no traceback, nothing stored from a
refused request, ``/healthz`` healthy throughout (issue 11).

Web chat frames go over a real WebSocket to the real app; WeCom callbacks are encrypted by the
independent client (tests/fakes/wecom_client.py); Telegram updates are posted to the webhook;
uploads are random bytes and crafted PNG headers. Examples come from hypothesis
(tests/fuzzkit.py: derandomized, ``max_examples`` from the profile) plus the regression corpus.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from bot import appkeys as appmod
from bot.channels import texts as channel_texts
from bot.channels.webchat.channel import HUB
from bot.channels.webchat.protocol import FrameError, parse_frame
from bot.channels.wecom.crypto import CallbackRejected
from bot.channels.wecom.xml import parse_xml
from core.text import is_clean
from services import media
from storage.models import InboxMessage
from tests.channels.test_telegram import SECRET, fake, webhook  # noqa: F401 (fixtures)
from tests.channels.test_webchat import invite_for
from tests.channels.test_wecom import WeComRig, rig  # noqa: F401 (fixture)
from tests.factories import make_world
from tests.fakes.harness import TG_TOKEN, drain, make_config, start_app
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.wecom_client import image_xml, location_xml, text_xml
from tests.fuzzkit import (
    CORPUS_TEXT,
    DEEP_LIST,
    DEEP_OBJECT,
    HOSTILE_TEXT,
    HUGE_NUMBER,
    JSON_ANY,
    LONG_INT,
    NUMBERS,
    bilevel_png,
    draw,
    dumps,
    png_header,
    tracebacks,
)
from tests.webclient import WebChatClient, webchat_server


async def inbox_rows(app: web.Application) -> list[InboxMessage]:
    async with app[appmod.SESSIONMAKER]() as s:
        return list(await s.scalars(sa.select(InboxMessage).order_by(InboxMessage.id)))


async def healthy(http: aiohttp.ClientSession | None, base: Any) -> None:
    assert http is not None
    async with http.get(str(base).rstrip("/") + "/healthz") as resp:
        assert resp.status == 200, await resp.text()


def stored_text_is_clean(rows: list[InboxMessage]) -> None:
    for row in rows:
        for key in ("text", "payload", "label"):
            value = row.payload.get(key) or ""
            assert is_clean(value), (key, value)


# -- web chat ----------------------------------------------------------------------------------

XML_TEXT = st.text(st.characters(exclude_categories=["Cs", "Cc"]), max_size=80)
FRAMES = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": HOSTILE_TEXT}),
    st.fixed_dictionaries(
        {"type": st.just("button"), "payload": HOSTILE_TEXT, "label": HOSTILE_TEXT}
    ),
    st.fixed_dictionaries(
        {"type": st.just("location"), "lat": NUMBERS, "lon": NUMBERS, "label": HOSTILE_TEXT}
    ),
    st.dictionaries(st.sampled_from(["type", "text", "id", "lat"]), JSON_ANY, max_size=4),
    JSON_ANY,
)
REFUSED_FRAMES = [
    DEEP_LIST,
    DEEP_OBJECT,
    '{"type":"location","lat":' + HUGE_NUMBER + ',"lon":0}',
    '{"type":"location","lat":NaN,"lon":Infinity}',
    '{"type":"text","text":"x","n":' + LONG_INT + "}",
    '{"type":"text","text":"\\u0000"}',  # nothing left once NUL is removed
    "\x00",
]
# Accepted once cleaned: (frame, the text stored).
CLEANED_FRAMES = [
    ('{"type":"text","text":"\\ud800"}', "\ufffd"),
    ('{"type":"text","text":"a\\u0000b\\u001bc\\r\\nd"}', "abc\nd"),
    ('{"type":"text","text":"e\\u0301"}', "\u00e9"),
]
RAW_FRAMES = REFUSED_FRAMES + [raw for raw, _ in CLEANED_FRAMES]


@given(FRAMES)
def test_parse_frame_raises_nothing_but_frame_error_and_yields_clean_fields(value):
    try:
        parsed = parse_frame(dumps(value), 32_000)
    except FrameError as err:
        assert err.text
        return
    for field in ("text", "payload", "label"):
        assert is_clean(parsed.fields.get(field, "")), parsed
    for field, bound in (("lat", 90), ("lon", 180)):
        if field in parsed.fields:
            assert -bound <= parsed.fields[field] <= bound


@given(st.binary(max_size=400) | XML_TEXT.map(lambda t: f"<xml><a>{t}</a></xml>".encode()))
def test_parse_xml_raises_nothing_but_callback_rejected(data):
    try:
        parse_xml(data)
    except CallbackRejected:
        pass


async def exchange(web_client: WebChatClient, raw: str) -> None:
    """Send one raw frame and wait for its answer: a final reply or an error frame."""
    assert web_client.ws is not None and not web_client.ws.closed
    start = len(web_client.frames)
    await web_client.send_raw(raw)
    for _ in range(500):
        for got in web_client.frames[start:]:
            if got.get("type") == "error" or got.get("final"):
                return
        assert not web_client.ws.closed, f"socket closed after frame {raw[:80]!r}"
        await asyncio.sleep(0.01)
    raise AssertionError(f"no answer to frame {raw[:80]!r}")


def frame_text(value: Any, n: int) -> str:
    if isinstance(value, dict) and "id" not in value:
        value = {**value, "id": f"z{n}"}
    return dumps(value)


async def test_web_chat_survives_hostile_frames(engine, database_url, tmp_path, clock, caplog):
    frames = [frame_text(v, n) for n, v in enumerate(draw(FRAMES))]
    frames += RAW_FRAMES + [frame_text({"type": "text", "text": t}, 900) for t in CORPUS_TEXT]
    async with webchat_server(database_url, tmp_path, clock) as server:
        limits = server.app[HUB].limits
        limits.frames_per_second = limits.burst = 100_000  # the flood guard is not under test
        async with server.client() as browser:
            for n, raw in enumerate(frames):
                await exchange(browser, raw)
                if n % 20 == 0:
                    await healthy(browser.http, server.server.make_url(""))
            await healthy(browser.http, server.server.make_url(""))
        stored_text_is_clean(await inbox_rows(server.app))
    assert len(frames) >= 60
    assert tracebacks(caplog) == []


@pytest.mark.parametrize("raw", REFUSED_FRAMES, ids=lambda r: repr(r[:24]))
async def test_a_refused_frame_gets_an_error_and_stores_nothing(
    engine, database_url, tmp_path, clock, caplog, raw
):
    async with webchat_server(database_url, tmp_path, clock) as server:
        async with server.client() as browser:
            await exchange(browser, raw)
            assert browser.frames[-1]["type"] == "error"
            await exchange(browser, dumps({"type": "text", "text": "帮助", "id": "z1"}))
        rows = await inbox_rows(server.app)
    assert [r.payload["text"] for r in rows] == ["帮助"]  # the socket still works
    assert tracebacks(caplog) == []


@pytest.mark.parametrize(("raw", "stored"), CLEANED_FRAMES)
async def test_control_characters_and_lone_surrogates_are_cleaned_before_storing(
    engine, database_url, tmp_path, clock, caplog, raw, stored
):
    async with webchat_server(database_url, tmp_path, clock) as server:
        async with server.client() as browser:
            await exchange(browser, raw)
        rows = await inbox_rows(server.app)
    assert [r.payload["text"] for r in rows] == [stored]
    assert tracebacks(caplog) == []


# -- uploads -------------------------------------------------------------------------------------

UPLOADS = st.one_of(
    st.binary(max_size=3000),
    st.builds(lambda w, h: png_header(w, h), st.integers(1, 2**31 - 1), st.integers(1, 2**31 - 1)),
    st.builds(lambda tail: b"\x89PNG\r\n\x1a\n" + tail, st.binary(max_size=500)),
    st.builds(lambda tail: b"\xff\xd8\xff" + tail, st.binary(max_size=500)),
    st.builds(lambda tail: b"RIFF\x00\x00\x00\x00WEBP" + tail, st.binary(max_size=500)),
)


async def test_uploads_of_random_bytes_and_huge_headers_are_refused_with_4xx(
    engine, sessionmaker, database_url, tmp_path, clock, caplog
):
    world = await make_world(sessionmaker, clock.now())
    bodies = draw(UPLOADS) + [png_header(100_000, 100_000), png_header(8000, 7500)]
    async with webchat_server(database_url, tmp_path, clock) as server:
        code = await invite_for(sessionmaker, clock, world.people["sec0"])
        async with server.client() as browser:
            await browser.bind(code)
            before = len(await inbox_rows(server.app))
            statuses = [(await browser.upload(body, "x.png"))[0] for body in bodies]
            await healthy(browser.http, server.server.make_url(""))
        after = len(await inbox_rows(server.app))
    assert all(s < 500 for s in statuses), statuses
    assert after - before == statuses.count(200)
    assert tracebacks(caplog) == []


async def test_a_60_megapixel_png_is_refused_before_it_is_decoded(
    engine, sessionmaker, database_url, tmp_path, clock
):
    world = await make_world(sessionmaker, clock.now())
    bomb = bilevel_png(8000, 7500)  # 7 kB that decodes to 60 million pixels
    assert len(bomb) < 20_000
    async with webchat_server(database_url, tmp_path, clock) as server:
        code = await invite_for(sessionmaker, clock, world.people["sec0"])
        async with server.client() as browser:
            await browser.bind(code)
            status, body = await browser.upload(bomb, "bomb.png")
    assert status == 415
    assert body["text"] == media.TOO_MANY_PIXELS


# -- WeCom ---------------------------------------------------------------------------------------

CREATE_TIMES = st.one_of(
    st.integers(-(2**70), 2**70).map(str), XML_TEXT, st.sampled_from(["-1", "0", "1e9"])
)


def wecom_messages(now: int) -> st.SearchStrategy[str]:
    def text_msg(content: str, create: str, msg_id: str) -> str:
        return text_xml("fz", content, msg_id, 0).replace(
            "<CreateTime>0</CreateTime>", f"<CreateTime>{create}</CreateTime>"
        )

    return st.one_of(
        st.builds(text_xml, st.just("fz"), XML_TEXT, st.integers(1, 2**62).map(str), st.just(now)),
        st.builds(text_msg, XML_TEXT, CREATE_TIMES, XML_TEXT),
        st.builds(
            location_xml,
            st.just("fz"),
            NUMBERS.filter(lambda v: not isinstance(v, bool)),
            NUMBERS.filter(lambda v: not isinstance(v, bool)),
            XML_TEXT,
            st.integers(1, 2**62).map(str),
            st.just(now),
        ),
        st.builds(lambda s: f"<xml>{s}</xml>", XML_TEXT),
    )


WECOM_CORPUS = [
    text_xml("fz", "帮助", "neg-1", -1),
    text_xml("fz", "帮助", "big-1", 10**13),
    text_xml("fz", "&#0;", "nul-1", 0),
    text_xml("fz", "a\x01b", "ctl-1", 0),
    text_xml("fz", "帮助", "x" * 200, 0),
    location_xml("fz", float("nan"), 0.0, "nan", "loc-nan", 0),
    location_xml("fz", 1e308 * 10, 0.0, "inf", "loc-inf", 0),
]


async def test_wecom_callbacks_with_hostile_fields_never_get_5xx(rig: WeComRig, caplog):  # noqa: F811
    messages = draw(wecom_messages(rig.now)) + [
        m.replace("<CreateTime>0</CreateTime>", f"<CreateTime>{rig.now}</CreateTime>")
        for m in WECOM_CORPUS
    ]
    for n, xml in enumerate(messages):
        before = len(await rig.inbox())
        resp = await rig.post(xml.encode("utf-8", "surrogatepass"))
        assert resp.status < 500, (resp.status, xml)
        if resp.status != 200:
            assert len(await rig.inbox()) == before, xml
        if n % 20 == 0:
            await healthy(rig.http, rig.server.make_url(""))
    await drain(rig.app)
    stored_text_is_clean(await rig.inbox())
    assert tracebacks(caplog) == []


@pytest.mark.parametrize("create", ["-1", "-1700000000", "0", "99999999999", "1.5e9", "+1"])
async def test_wecom_refuses_a_create_time_that_is_not_a_sane_positive_integer(
    rig: WeComRig,  # noqa: F811
    create: str,
) -> None:
    xml = text_xml("fz", "帮助", "ct-1", 0).replace(
        "<CreateTime>0</CreateTime>", f"<CreateTime>{create}</CreateTime>"
    )
    resp = await rig.post(xml)
    assert resp.status == 400
    assert await rig.inbox() == []


async def test_wecom_permanently_invalid_media_is_answered_200_and_the_person_told(
    rig: WeComRig,  # noqa: F811
) -> None:
    for _ in range(2):  # had WeCom retried, the second would be the retry: still 200
        resp = await rig.post(image_xml("wang", "NO-SUCH-MEDIA", "img-gone", rig.now))
        assert resp.status == 200
    await drain(rig.app)
    assert await rig.inbox() == []
    assert rig.api.texts_to("wang")[0] == channel_texts.PHOTO_GONE


async def test_wecom_media_download_that_may_recover_still_asks_for_a_retry(
    rig: WeComRig,  # noqa: F811
) -> None:
    await rig.api.close()  # WeCom's API unreachable: a retry later may succeed
    resp = await rig.post(image_xml("wang", "MEDIA-1", "img-down", rig.now))
    assert resp.status == 503
    assert await rig.inbox() == []


# -- Telegram ------------------------------------------------------------------------------------


def telegram_updates(api: FakeTelegramApi) -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(
        HOSTILE_TEXT.map(lambda t: api.message_update(7001, text=t)),
        HOSTILE_TEXT.map(lambda t: api.callback_update(7001, t)),
        st.tuples(NUMBERS, NUMBERS).map(
            lambda p: api.message_update(7001, location={"latitude": p[0], "longitude": p[1]})
        ),
        st.dictionaries(st.sampled_from(["update_id", "message", "x"]), JSON_ANY, max_size=3),
    )


async def test_telegram_webhook_updates_with_hostile_fields_never_get_5xx(
    webhook,  # noqa: F811
    fake,  # noqa: F811
    caplog,
):
    updates = [dumps(u) for u in draw(telegram_updates(fake))]
    updates += [dumps(fake.message_update(7001, text=t)) for t in CORPUS_TEXT]
    updates += [DEEP_LIST, '{"update_id": 1e400}', "\x00"]
    url = webhook.make_url("/telegram/webhook")
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with aiohttp.ClientSession() as http:
        for n, body in enumerate(updates):
            async with http.post(url, data=body.encode(), headers=headers) as resp:
                assert resp.status < 500, (resp.status, body[:200])
            if n % 20 == 0:
                await healthy(http, webhook.make_url(""))
    await drain(webhook.app)
    stored_text_is_clean(await inbox_rows(webhook.app))
    assert tracebacks(caplog) == []


class NonJsonGetFile(FakeTelegramApi):
    """A Bot API whose getFile answers a proxy's HTML error page."""

    async def method(self, request: web.Request) -> web.Response:
        if request.match_info["method"] == "getFile":
            return web.Response(status=502, text="<html>502 Bad Gateway</html>")
        return await super().method(request)


async def test_telegram_photo_download_failing_with_non_json_tells_the_person(
    engine, database_url, tmp_path, clock
):
    api = NonJsonGetFile(TG_TOKEN)
    await api.start()
    base = str(api.server.make_url("")).rstrip("/")
    server = await start_app(make_config(database_url, tmp_path, telegram_base=base), clock)
    try:
        await api.push(api.message_update(7002, **api.photo_content(b"\xff\xd8\xff jpeg")))
        await api.wait_for(lambda: bool(api.texts_to(7002)))
        assert api.texts_to(7002) == [channel_texts.PHOTO_DOWNLOAD_FAILED]
        assert await inbox_rows(server.app) == []
    finally:
        await server.close()
        await api.close()
