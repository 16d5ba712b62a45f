"""Incoming -> the handler for this person, their conversation state and the text."""

from __future__ import annotations

import logging
from datetime import timedelta

from core.messages import Reply
from handlers import texts
from handlers.context import Context, Refused
from handlers.registry import Registry
from storage import people as people_store

log = logging.getLogger(__name__)

CANCEL_WORDS = frozenset({"取消", "/cancel", "退出", "算了"})
HELP_WORDS = frozenset({"帮助", "/help", "help", "菜单", "?", "？"})
BIND_WORDS = ("绑定", "/start", "/bind")
# A flow left untouched this long is dropped instead of resumed.
FLOW_TTL = timedelta(hours=24)


def _first_word(text: str) -> str:
    return text.strip().split(" ", 1)[0].lower()


async def dispatch(ctx: Context, registry: Registry) -> list[Reply]:
    """Route one message; ``ctx.person`` and ``ctx.state`` are the sender's as the caller
    loaded them (``storage.people.sender``). A handler refuses an action by raising
    ``Refused``; the caller (bot.inbound) rolls the whole unit of work back and shows it."""
    return await _route(ctx, registry)


async def _route(ctx: Context, registry: Registry) -> list[Reply]:
    inc = ctx.incoming
    text = inc.text.strip() if inc.kind == "text" else ""
    word = _first_word(text)

    if ctx.person is None:
        return await _unbound(ctx, text, word)

    if people_store.needs_touch(ctx.me, inc.channel, ctx.now()):
        await people_store.touch_identity(
            ctx.session, ctx.me.id, inc.channel, inc.sender_id, ctx.now()
        )
    # ctx.state was loaded with the person (bot.inbound: one query per message).
    if ctx.state and ctx.state.updated_at and ctx.now() - ctx.state.updated_at > FLOW_TTL:
        await ctx.clear_state()

    if word in CANCEL_WORDS and text == word or text in CANCEL_WORDS:
        if ctx.state:
            await ctx.clear_state()
            return [Reply(texts.CANCELLED)]
        return [Reply(texts.NOTHING_TO_CANCEL)]
    if text in HELP_WORDS:
        return [help_reply(ctx, registry)]
    if word in BIND_WORDS:
        return [
            Reply(
                texts.ALREADY_BOUND.format(
                    name=ctx.me.name, role=ctx.me.role_zh, region=ctx.me.region_name
                )
            )
        ]

    if inc.kind == "button":
        prefix, _, rest = inc.payload.partition(":")
        handler = registry.buttons.get(prefix)
        if handler is None:
            return [Reply(texts.STALE_BUTTON)]
        return await handler(ctx, rest)

    if inc.kind == "event":
        return []  # e.g. WeCom's enter_agent when the app is opened: nothing to answer

    if ctx.state and ctx.state.flow in registry.flows:
        return await registry.flows[ctx.state.flow](ctx)

    if inc.kind == "photo":
        if registry.on_photo:
            return await registry.on_photo(ctx)
        return [Reply(texts.PHOTO_UNEXPECTED)]
    if inc.kind == "location":
        if registry.on_location:
            return await registry.on_location(ctx)
        return [Reply(texts.LOCATION_UNEXPECTED)]
    if inc.kind != "text" or not text:
        return [Reply(texts.NOT_UNDERSTOOD)]

    matched = registry.match(text)
    if matched:
        cmd, rest = matched
        if ctx.me.role not in cmd.roles:
            raise Refused(texts.ROLE_REFUSED.format(role=ctx.me.role_zh, word=cmd.words[0]))
        return await cmd.run(ctx, rest)
    if registry.fallback:
        return await registry.fallback(ctx)
    return [Reply(texts.NOT_UNDERSTOOD)]


async def _unbound(ctx: Context, text: str, word: str) -> list[Reply]:
    inc = ctx.incoming
    if word in BIND_WORDS or text.startswith("绑定"):
        code = text[len(word) :].strip() if word in BIND_WORDS else text[2:].strip()
        if not code:
            return [Reply(texts.BIND_HOW)]
        result = await people_store.bind(
            ctx.session, channel=inc.channel, external_id=inc.sender_id, code=code, now=ctx.now()
        )
        if result.outcome == "ok" and result.person:
            ctx.person = result.person
            await ctx.audit("bind", f"person:{result.person.id}", {"channel": inc.channel})
            log.info(
                "bound channel=%s person=%s msg=%s", inc.channel, result.person.id, inc.message_id
            )
            return [
                Reply(
                    texts.BIND_OK.format(
                        name=result.person.name,
                        role=result.person.role_zh,
                        region=result.person.region_name,
                    )
                )
            ]
        return [Reply(texts.BIND_FAILED[result.outcome])]
    if text in HELP_WORDS:
        return [Reply(texts.UNBOUND_HELP)]
    return [Reply(texts.UNBOUND)]


def help_reply(ctx: Context, registry: Registry) -> Reply:
    me = ctx.me
    lines = [
        cmd.help
        for cmd in sorted(registry.commands, key=lambda c: c.order)
        if cmd.help and me.role in cmd.roles
    ]
    head = texts.HELP_HEAD.format(name=me.name, role=me.role_zh, region=me.region_name)
    return Reply("\n".join([head, *(f"• {line}" for line in lines), texts.HELP_TAIL]))
