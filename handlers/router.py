"""Incoming -> the handler for this person, their conversation state and the text."""

from __future__ import annotations

import dataclasses
import logging
from contextvars import ContextVar
from datetime import timedelta
from typing import Any

from core.errors import DomainError, NotFound, Refused
from core.messages import Reply
from core.payloads import LogoutCancel, LogoutConfirm, unpack
from handlers import texts
from handlers.context import Context
from handlers.registry import Registry
from services import people
from storage import people as people_store

log = logging.getLogger(__name__)

CANCEL_WORDS = frozenset({"取消", "/cancel", "退出", "算了"})
HELP_WORDS = frozenset({"帮助", "/help", "help", "菜单", "?", "？"})
BIND_WORDS = ("绑定", "/start", "/bind")
LOGOUT_WORDS = frozenset({"解绑", "/logout", "退出登录"})
# The client's network address, set by a channel that knows it (the web chat) before it hands
# a message in; binding attempts are also limited per address (services.people.bind).
CLIENT_ADDRESS: ContextVar[str | None] = ContextVar("client_address", default=None)
# A flow left untouched this long is dropped instead of resumed.
FLOW_TTL = timedelta(hours=24)


def _first_word(text: str) -> str:
    return text.strip().split(" ", 1)[0].lower()


async def dispatch(ctx: Context, registry: Registry) -> list[Reply]:
    """Route one message; ``ctx.person`` and ``ctx.state`` are the sender's as the caller
    loaded them (``storage.people.sender``). A handler refuses an action by raising
    ``Refused``; the caller (bot.inbound) rolls the whole unit of work back and shows it."""
    inc = ctx.incoming
    if inc.kind == "voice" and inc.text.strip() and ctx.person is not None:
        return await _voice_and_words(ctx, registry)
    text = inc.text.strip() if inc.kind == "text" else ""
    word = _first_word(text)
    if ctx.person is None:
        return await _unbound(ctx, text, word)
    await _keep_up(ctx)
    _label_as_press(ctx, text)
    answered = await _core_words(ctx, registry, text, word)
    if answered is not None:
        return answered
    replies = await _routed(ctx, registry, text)
    await _remember_buttons(ctx, replies)
    return replies


async def _routed(ctx: Context, registry: Registry, text: str) -> list[Reply]:
    inc = ctx.incoming
    if inc.kind == "button":
        return await _button(ctx, registry)
    if inc.kind == "event":
        return []  # e.g. WeCom's enter_agent when the app is opened: nothing to answer
    if ctx.state and ctx.state.flow in registry.flows:
        left = await _leave_flow(ctx, registry, text)
        if left is not None:
            return left
        return await registry.flows[ctx.state.flow](ctx)
    if inc.kind in ("photo", "voice", "location"):
        return await _outside_flow(ctx, registry)
    if inc.kind != "text" or not text:
        return [Reply(texts.NOT_UNDERSTOOD)]
    return await _command_or_fallback(ctx, registry, text)


async def _voice_and_words(ctx: Context, registry: Registry) -> list[Reply]:
    """A voice note with the channel's speech recognition: the voice is stored and placed as a
    voice, and the recognised words are read as if typed. Inside a flow the voice goes to what
    is open first; outside one the words go first (a spoken visit report opens the visit the
    voice then joins, instead of asking which household)."""
    inc = ctx.incoming
    voice = dataclasses.replace(inc, text="")
    words = dataclasses.replace(inc, kind="text", photo=None, text=inc.text.strip())
    order = (voice, words) if ctx.state is not None else (words, voice)
    replies: list[Reply] = []
    for part in order:
        ctx.incoming = part
        replies += await dispatch(ctx, registry)
    ctx.incoming = inc
    return replies


BUTTONS_KEY = "_buttons"  # in a flow's state data: label -> payload of the last buttons shown


def _label_as_press(ctx: Context, text: str) -> None:
    """Typing a button's label inside a flow is pressing that button of the last reply."""
    if ctx.state is None or ctx.incoming.kind != "text" or not text:
        return
    shown: Any = ctx.state.data.get(BUTTONS_KEY) or {}
    payload = shown.get(text) if isinstance(shown, dict) else None
    if isinstance(payload, str):
        ctx.incoming = dataclasses.replace(ctx.incoming, kind="button", payload=payload, text="")


async def _remember_buttons(ctx: Context, replies: list[Reply]) -> None:
    """Keep the labels of the buttons the flow just showed, so typing one presses it."""
    state = ctx.state
    if state is None:
        return
    shown = next((r.buttons for r in reversed(replies) if r.buttons), ())
    labels = {b.label.strip(): b.payload for b in shown}
    if labels != (state.data.get(BUTTONS_KEY) or {}):
        data = {k: v for k, v in state.data.items() if k != BUTTONS_KEY}
        if labels:
            data[BUTTONS_KEY] = labels
        await ctx.set_state(state.flow, state.step, data)


async def _leave_flow(ctx: Context, registry: Registry, text: str) -> list[Reply] | None:
    """A command word inside a flow ends the flow (saying what was dropped) and runs the
    command; ``None`` when the text is no command or the flow continues with it itself."""
    state = ctx.state
    if state is None or ctx.incoming.kind != "text" or not text:
        return None
    matched = registry.match(text)
    if matched is None or set(matched[0].words) & registry.flow_words.get(state.flow, set()):
        return None
    await ctx.clear_state()
    dropped = Reply(texts.FLOW_DROPPED.get(state.flow, texts.FLOW_DROPPED_ANY))
    return [dropped, *(await _command_or_fallback(ctx, registry, text))]


async def _keep_up(ctx: Context) -> None:
    """Note the identity as seen (when that changes anything) and drop a flow gone stale."""
    inc = ctx.incoming
    if people_store.needs_touch(ctx.me, inc.channel, ctx.now()):
        await people_store.touch_identity(
            ctx.session, ctx.me.id, inc.channel, inc.sender_id, ctx.now()
        )
    # ctx.state was loaded with the person (bot.inbound: one query per message).
    if ctx.state and ctx.state.updated_at and ctx.now() - ctx.state.updated_at > FLOW_TTL:
        await ctx.clear_state()


async def _core_words(ctx: Context, registry: Registry, text: str, word: str) -> list[Reply] | None:
    """取消, 帮助 and 绑定 mean the same in every flow; ``None`` for any other text."""
    if word in CANCEL_WORDS and text == word or text in CANCEL_WORDS:
        if ctx.state:
            await ctx.clear_state()
            return [Reply(texts.CANCELLED)]
        return [Reply(texts.NOTHING_TO_CANCEL)]
    if text in HELP_WORDS:
        return [help_reply(ctx, registry)]
    if word in BIND_WORDS:
        me = ctx.me
        return [
            Reply(texts.ALREADY_BOUND.format(name=me.name, role=me.role_zh, region=me.region_name))
        ]
    if text in LOGOUT_WORDS or ctx.incoming.kind == "button":
        return await _logout(ctx)
    return None


async def _logout(ctx: Context) -> list[Reply] | None:
    """解绑 / logout: asks first (it cannot be undone from the page), then ends this chat
    identity's session. ``None`` for a button that is not ours."""
    inc = ctx.incoming
    if inc.kind == "text":
        return [
            Reply(
                texts.LOGOUT_CONFIRM,
                buttons=(
                    LogoutConfirm().button(texts.LOGOUT_YES),
                    LogoutCancel().button(texts.LOGOUT_NO),
                ),
            )
        ]
    if LogoutCancel.parse(inc.payload) is not None:
        return [Reply(texts.LOGOUT_KEPT)]
    if LogoutConfirm.parse(inc.payload) is None:
        return None
    done = await people.logout(
        ctx.session, ctx.me, channel=inc.channel, external_id=inc.sender_id, now=ctx.now()
    )
    if done:
        log.info("logged out channel=%s person=%s", inc.channel, ctx.me.id)
    return [Reply(texts.LOGOUT_DONE if done else texts.LOGOUT_NOT_BOUND)]


async def _button(ctx: Context, registry: Registry) -> list[Reply]:
    """A malformed, unknown or foreign button gets one answer, the stale-button reply, as a
    refusal (so it is audited): a button's reply never tells what exists elsewhere."""
    prefix, _, rest = ctx.incoming.payload.partition(":")
    handler = registry.buttons.get(prefix)
    if handler is None or unpack(ctx.incoming.payload) is None:
        raise Refused(texts.STALE_BUTTON)
    try:
        return await handler(ctx, rest)
    except (Refused, NotFound):
        raise Refused(texts.STALE_BUTTON) from None


async def _outside_flow(ctx: Context, registry: Registry) -> list[Reply]:
    """A photo or a location sent outside any flow: the feature that claimed it, if any."""
    if ctx.incoming.kind in ("photo", "voice"):
        if registry.on_photo:
            return await registry.on_photo(ctx)
        return [Reply(texts.PHOTO_UNEXPECTED)]
    if registry.on_location:
        return await registry.on_location(ctx)
    return [Reply(texts.LOCATION_UNEXPECTED)]


async def _command_or_fallback(ctx: Context, registry: Registry, text: str) -> list[Reply]:
    matched = registry.match(text)
    if matched:
        cmd, rest = matched
        if ctx.me.role not in cmd.roles:
            raise Refused(texts.ROLE_REFUSED.format(role=ctx.me.role_zh, word=cmd.words[0]))
        return await cmd.run(ctx, rest)
    if registry.fallback:
        return await registry.fallback(ctx)
    return [Reply(texts.NOT_UNDERSTOOD)]


def bind_code(text: str) -> str | None:
    """The code of a bind command (``""`` for a bare 绑定), or ``None`` for any other text."""
    text = text.strip()
    return _bind_code(text, _first_word(text))


def _bind_code(text: str, word: str) -> str | None:
    """The code of 绑定 / /start / /bind (glued 绑定AB12CD34 too); ``None`` when it is no bind."""
    if word in BIND_WORDS:
        return text[len(word) :].strip()
    if text.startswith("绑定"):
        return text[2:].strip()
    return None


async def _unbound(ctx: Context, text: str, word: str) -> list[Reply]:
    code = _bind_code(text, word)
    if code is None:
        return [Reply(texts.UNBOUND_HELP if text in HELP_WORDS else texts.UNBOUND)]
    if not code:
        return [Reply(texts.BIND_HOW)]
    inc = ctx.incoming
    try:
        person = await people.bind(
            ctx.session,
            channel=inc.channel,
            external_id=inc.sender_id,
            code=code,
            now=ctx.now(),
            address=CLIENT_ADDRESS.get(),
        )
    except DomainError as refusal:  # nothing was written: the refusal is an answer
        return [Reply(refusal.message)]
    ctx.person = person
    log.info("bound channel=%s person=%s msg=%s", inc.channel, person.id, inc.message_id)
    return [
        Reply(
            texts.BIND_OK.format(name=person.name, role=person.role_zh, region=person.region_name)
        )
    ]


def help_reply(ctx: Context, registry: Registry) -> Reply:
    me = ctx.me
    lines = [
        cmd.help
        for cmd in sorted(registry.commands, key=lambda c: c.order)
        if cmd.help and me.role in cmd.roles
    ]
    head = texts.HELP_HEAD.format(name=me.name, role=me.role_zh, region=me.region_name)
    return Reply("\n".join([head, *(f"• {line}" for line in lines), texts.HELP_TAIL]))
