"""One person on one channel, driven over the real transport, for the same-scenario test.

Each driver sends what a phone would send (a callback, an update, a WebSocket frame) and
returns the texts the bot answered with. ``press(label)`` presses the button with that label
on the last message that had buttons, the way that channel shows buttons (WeCom: a template
card's button, or the numbered menu of a card WeCom refused, answered with the number;
DingTalk: an ActionCard button, i.e. the number its link sends, or a numbered menu; Telegram:
an inline keyboard callback).
"""

from __future__ import annotations

import abc
import itertools
import re
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from tests.fakes.dingtalk_api import FakeDingTalkApi, card_buttons
from tests.fakes.dingtalk_client import DingTalkClient
from tests.fakes.harness import drain
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.wecom_api import FakeWeComApi
from tests.fakes.wecom_client import (
    WeComClient,
    card_event_xml,
    image_xml,
    location_xml,
    text_xml,
)

_ids = itertools.count(1)


class Driver(abc.ABC):
    name: str
    external_id: str
    server: TestServer
    # DingTalk's robot callback carries no location message type: the step is left out there.
    sends_location = True

    @abc.abstractmethod
    async def text(self, text: str) -> list[str]: ...

    @abc.abstractmethod
    async def photo(self, data: bytes) -> list[str]: ...

    @abc.abstractmethod
    async def location(self, lat: float, lon: float, label: str) -> list[str]: ...

    @abc.abstractmethod
    async def last_push(self) -> tuple[str, list[str]]:
        """The text and button labels of the latest message pushed to this person."""
        ...

    @abc.abstractmethod
    async def press(self, label: str) -> list[str]: ...

    @property
    def app(self):
        return self.server.app


class WeComDriver(Driver):
    name = "wecom"

    def __init__(
        self, server: TestServer, api: FakeWeComApi, client: WeComClient, clock: Any, user: str
    ) -> None:
        self.server, self.api, self.client, self.clock = server, api, client, clock
        self.external_id = user

    async def _post(self, xml: str) -> list[str]:
        before = len(self.api.shown_to(self.external_id))
        cb = self.client.callback(xml, int(self.clock.now().timestamp()))
        async with aiohttp.ClientSession() as http:
            async with http.post(
                self.server.make_url("/wecom/callback"), params=cb.params, data=cb.body
            ) as resp:
                assert resp.status == 200, await resp.text()
        await drain(self.app)
        return self.api.shown_to(self.external_id)[before:]

    def _now(self) -> int:
        return int(self.clock.now().timestamp())

    async def text(self, text: str) -> list[str]:
        return await self._post(text_xml(self.external_id, text, f"w{next(_ids)}", self._now()))

    async def photo(self, data: bytes) -> list[str]:
        media_id = f"MEDIA{next(_ids)}"
        self.api.media[media_id] = data
        return await self._post(
            image_xml(self.external_id, media_id, f"w{next(_ids)}", self._now())
        )

    async def location(self, lat: float, lon: float, label: str) -> list[str]:
        xml = location_xml(self.external_id, lat, lon, label, f"w{next(_ids)}", self._now())
        return await self._post(xml)

    def _last_buttons(self) -> tuple[dict[str, Any] | None, list[str]]:
        """The last message with buttons: (its card, or None for a numbered menu; labels)."""
        for m in reversed(self.api.sent):
            if m["touser"] != self.external_id:
                continue
            if "template_card" in m:
                card = m["template_card"]
                return card, [b["text"] for b in card["button_list"]]
            options = re.findall(r"^(\d+)\. (.+)$", m.get("text", {}).get("content", ""), re.M)
            if options:
                return None, [label for _, label in options]
        return None, []

    async def last_push(self) -> tuple[str, list[str]]:
        shown = self.api.shown_to(self.external_id)
        return (shown[-1] if shown else ""), self._last_buttons()[1]

    async def press(self, label: str) -> list[str]:
        card, labels = self._last_buttons()
        if card is None:
            return await self.text(str(labels.index(label) + 1))
        [key] = [b["key"] for b in card["button_list"] if b["text"] == label]
        code = self.api.tap_code(card["task_id"])
        answers = await self._post(
            card_event_xml(self.external_id, key, card["task_id"], code, self._now())
        )
        # What the phone shows next: the tapped card's buttons greyed out, with that code.
        assert [u["response_code"] for u in self.api.card_updates][-1:] == [code]
        return answers


class TelegramDriver(Driver):
    """Webhook mode: each update is POSTed like Telegram does, then the app's work drained."""

    name = "telegram"

    def __init__(self, server: TestServer, api: FakeTelegramApi, secret: str, chat: int) -> None:
        self.server, self.api, self.secret, self.chat = server, api, secret, chat
        self.external_id = str(chat)

    async def _post(self, update: dict[str, Any]) -> list[str]:
        before = len(self.api.texts_to(self.chat))
        async with aiohttp.ClientSession() as http:
            async with http.post(
                self.server.make_url("/telegram/webhook"),
                json=update,
                headers={"X-Telegram-Bot-Api-Secret-Token": self.secret},
            ) as resp:
                assert resp.status == 200, await resp.text()
        await drain(self.app)
        return self.api.texts_to(self.chat)[before:]

    async def text(self, text: str) -> list[str]:
        return await self._post(self.api.message_update(self.chat, text=text))

    async def photo(self, data: bytes) -> list[str]:
        return await self._post(self.api.message_update(self.chat, **self.api.photo_content(data)))

    async def location(self, lat: float, lon: float, label: str) -> list[str]:
        venue = {
            "location": {"latitude": lat, "longitude": lon},
            "title": label,
            "address": label,
        }
        return await self._post(
            self.api.message_update(
                self.chat, location={"latitude": lat, "longitude": lon}, venue=venue
            )
        )

    def _keyboard(self) -> list[dict[str, str]]:
        for msg in reversed(self.api.sent):
            if str(msg.get("chat_id")) == self.external_id and msg.get("reply_markup"):
                return [b for row in msg["reply_markup"]["inline_keyboard"] for b in row]
        return []

    async def last_push(self) -> tuple[str, list[str]]:
        texts = self.api.texts_to(self.chat)
        return (texts[-1] if texts else ""), [b["text"] for b in self._keyboard()]

    async def press(self, label: str) -> list[str]:
        [button] = [b for b in self._keyboard() if b["text"] == label]
        return await self._post(self.api.callback_update(self.chat, button["callback_data"]))


class DingTalkDriver(Driver):
    """Signed robot callbacks (one-to-one chat); buttons are an ActionCard whose links send the
    menu number back (pressed by sending that text), or a numbered menu answered by number."""

    name = "dingtalk"
    sends_location = False

    def __init__(
        self,
        server: TestServer,
        api: FakeDingTalkApi,
        client: DingTalkClient,
        clock: Any,
        user: str,
    ) -> None:
        self.server, self.api, self.client, self.clock = server, api, client, clock
        self.external_id = user

    def _now(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    async def _post(self, body: dict[str, Any]) -> list[str]:
        before = len(self.api.shown_to(self.external_id))
        async with aiohttp.ClientSession() as http:
            async with http.post(
                self.server.make_url("/dingtalk/callback"),
                json=body,
                headers=self.client.headers(self._now()),
            ) as resp:
                assert resp.status == 200, await resp.text()
        await drain(self.app)
        return self.api.shown_to(self.external_id)[before:]

    async def text(self, text: str) -> list[str]:
        return await self._post(self.client.text(self.external_id, text, self._now()))

    async def photo(self, data: bytes) -> list[str]:
        code = f"DL{next(_ids)}"
        self.api.files[code] = data
        return await self._post(self.client.picture(self.external_id, code, self._now()))

    async def location(self, lat: float, lon: float, label: str) -> list[str]:
        raise NotImplementedError("DingTalk robots receive no location messages")

    def _last_buttons(self) -> list[tuple[str, str]]:
        """The last message with buttons: (label, the text that presses it)."""
        for m in reversed(self.api.sent):
            if m["userIds"] != [self.external_id]:
                continue
            if m["msgKey"] != "sampleText":
                return card_buttons(m["msgParam"])
            options = re.findall(r"^(\d+)\. (.+)$", m["msgParam"]["content"], re.M)
            if options:
                return [(label, number) for number, label in options]
        return []

    def last_buttons(self) -> list[str]:
        return [label for label, _ in self._last_buttons()]

    async def last_push(self) -> tuple[str, list[str]]:
        shown = self.api.shown_to(self.external_id)
        return (shown[-1] if shown else ""), self.last_buttons()

    async def press(self, label: str) -> list[str]:
        [sends] = [text for name, text in self._last_buttons() if name == label]
        return await self.text(sends)  # a card's link makes the client send this text
