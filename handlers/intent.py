"""Free text that is no command and no flow's (the registry fallback): read what it means
(handlers/intent_read.py) and act only when sure.

    今天去了唐勇家，吃水没问题     -> the 走访 summary card for 唐勇 (handlers/visit_report.py)
    收到 / 好的 (after a push)     -> 收到 on that push (handlers.tasks.acknowledge)
    低保渐退多长时间                -> the FAQ (handlers/faq.py; it may queue it for the county)
    唐勇 / 你好 / 忽略 34 / 收到 (no push) -> a short help with buttons; nothing is queued
    unsure (a report without a clear check, a receipt with more in it)
        -> one question with 是 / 不是 buttons; the text waits in the conversation state
           (flow "intent") with the question's number, which every button must carry

Text inside an open submission is the submission's (handlers/tasks.py), except small talk
and policy questions, which that flow sets aside with the same reader.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from core import payloads as P
from core.errors import Refused
from core.messages import Button, Reply
from core.numbers import series_of
from core.payloads import IntentAnswer, IntentCommand, IntentPick, IntentVisit
from core.roles import COUNTY_ROLES, VILLAGE_ROLES
from core.statuses import TaskKind
from handlers import faq, intent_read, tasks, visit_flow
from handlers import intent_texts as T
from handlers.context import Context
from handlers.intent_read import ACK, ASK, QUESTION, VISIT, Reading, Situation
from handlers.registry import Registry
from handlers.router import help_reply
from handlers.visit_draft import VisitDraft
from handlers.visit_report import cmd_visit
from services import faq as faq_service
from services import free_text
from services import visits as visit_service
from storage.household_search import HouseholdName
from storage.tasks import AssignmentDTO

log = logging.getLogger(__name__)

FLOW = "intent"
MAX_CHOICES = 6  # households offered when a surname names several

# Command buttons of a help reply: key -> (label, the command text it runs).
COMMANDS: dict[str, tuple[str, str]] = {
    "visit": (T.BTN_VISIT, "走访"),
    "problems": (T.BTN_PROBLEMS, "问题"),
    "tasks": (T.BTN_TASKS, "任务"),
    "due": (T.BTN_DUE, "未走访"),
    "review": (T.BTN_REVIEW, "待审核"),
    "progress": (T.BTN_PROGRESS, "进度"),
    "queue": (T.BTN_QUEUE, "待答问题"),
    "help": (T.BTN_HELP, "帮助"),
}


def _command_buttons(role: str) -> tuple[Button, ...]:
    keys: tuple[str, ...]
    if role in VILLAGE_ROLES:
        keys = ("visit", "tasks", "due", "help")
    elif role in COUNTY_ROLES:
        keys = ("review", "progress", "queue", "help")
    else:
        keys = ("review", "progress", "help")
    return tuple(IntentCommand(k).button(COMMANDS[k][0]) for k in keys)


# --- reading --------------------------------------------------------------------------------


async def _read(ctx: Context, text: str) -> tuple[Reading, AssignmentDTO | None]:
    """The reading of ``text`` with what the sender's situation adds; the database is asked
    only for what the text could need (the push for a receipt, the households otherwise)."""
    folded = intent_read.fold(text)
    if intent_read.is_receipt(folded):
        push = await free_text.latest_push(ctx.session, ctx.me, now=ctx.now())
        return intent_read.read(text, Situation(push=push is not None)), push
    if intent_read.is_small_talk(folded) or intent_read.is_fragment(folded):
        return intent_read.read(text, Situation()), None
    households = await free_text.own_households(ctx.session, ctx.me)
    reading = intent_read.read(text, Situation(households=households))
    if not reading.reply_like:
        return reading, None
    push = await free_text.latest_push(ctx.session, ctx.me, now=ctx.now())
    if push is None:
        return reading, None
    return intent_read.read(text, Situation(households=households, push=True)), push


async def on_text(ctx: Context) -> list[Reply]:
    text = ctx.incoming.text.strip()
    reading, push = await _read(ctx, text)
    log.info(
        "intent msg=%s intent=%s confidence=%.2f why=%s",
        ctx.incoming.message_id,
        reading.intent,
        reading.confidence,
        ";".join(reading.why),
    )
    if reading.intent == ACK and push is not None:
        if reading.sure:
            return await tasks.acknowledge(ctx, push.task_number, series_of(push.task_kind))
        return await _ask_ack(ctx, text, push)
    if reading.intent == VISIT and reading.confidence >= ASK:
        if reading.sure and len(reading.households) == 1:
            return await _visit(ctx, text, reading.households[0])
        return await _ask_visit(ctx, text, reading.households)
    if reading.intent == QUESTION and reading.sure:
        return await faq.ask(ctx, text)
    if reading.intent == QUESTION and reading.confidence >= ASK:
        return await _ask_question(ctx, text)
    if reading.faq_check and await _faq_knows(ctx, text):
        return await _ask_question(ctx, text)
    return _help(ctx, reading)


async def _faq_knows(ctx: Context, text: str) -> bool:
    """The FAQ ranker as a second witness: a question it finds like one of its entries is
    asked about (这是要问的政策问题吗？) rather than answered with help."""
    if ctx.services.faq is None:
        return False
    score = await faq_service.likeness(ctx.session, ctx.me, text, index=ctx.services.faq)
    log.info("intent msg=%s faq_like=%.2f", ctx.incoming.message_id, score)
    return score >= intent_read.FAQ_LIKE


def _help(ctx: Context, reading: Reading) -> list[Reply]:
    """Not understood: a short help with the likely commands; nothing is recorded."""
    if reading.bare_name and len(reading.households) == 1 and ctx.me.role in VILLAGE_ROLES:
        hh = reading.households[0]
        buttons = (
            IntentVisit(hh.id).button(T.BTN_VISIT_NAME.format(name=hh.head_name)),
            IntentCommand("problems").button(T.BTN_PROBLEMS),
        )
        return [Reply(T.BARE_NAME.format(name=hh.head_name), buttons, meta={"kind": "intent_help"})]
    if reading.small_talk:
        receipt = intent_read.is_receipt(intent_read.fold(ctx.incoming.text))
        body = T.ACK_NOTHING if receipt else T.SMALL_TALK
        return [Reply(body, _command_buttons(ctx.me.role), meta={"kind": "intent_help"})]
    return [Reply(T.NOT_UNDERSTOOD, _command_buttons(ctx.me.role), meta={"kind": "intent_help"})]


# --- acting ---------------------------------------------------------------------------------


async def _visit(ctx: Context, text: str, hh: HouseholdName) -> list[Reply]:
    """The same path as ``走访 <户编号> <text>``: the household by its code, the whole text
    read as the report and kept as its note."""
    return await cmd_visit(ctx, f"{hh.code} {text}")


# --- asking ---------------------------------------------------------------------------------


async def _asking(ctx: Context, data: dict[str, Any]) -> int:
    ask = secrets.randbelow(P.MAX_ID) + 1
    await ctx.set_state(FLOW, "ask", {**data, "ask": ask})
    return ask


def _yes_no(ask: int) -> tuple[Button, ...]:
    return (IntentAnswer(ask, "yes").button(T.YES), IntentAnswer(ask, "no").button(T.NO))


async def _ask_visit(ctx: Context, text: str, households: tuple[HouseholdName, ...]) -> list[Reply]:
    ask = await _asking(
        ctx, {"kind": VISIT, "text": text, "hh": [h.id for h in households[:MAX_CHOICES]]}
    )
    name = households[0].head_name if len(households) == 1 else ""
    body = T.ASK_VISIT.format(name=name) if name else T.ASK_VISIT_NO_NAME
    return [Reply(body, _yes_no(ask), meta={"kind": "intent_ask", "intent": VISIT})]


async def _ask_ack(ctx: Context, text: str, item: AssignmentDTO) -> list[Reply]:
    ask = await _asking(
        ctx, {"kind": ACK, "text": text, "number": item.task_number, "item_kind": item.task_kind}
    )
    kind = T.KIND_NOTICE if item.task_kind == TaskKind.NOTICE else T.KIND_TASK
    body = T.ASK_ACK.format(kind=kind, title=item.task_title)
    return [Reply(body, _yes_no(ask), meta={"kind": "intent_ask", "intent": ACK})]


async def _ask_question(ctx: Context, text: str) -> list[Reply]:
    ask = await _asking(ctx, {"kind": QUESTION, "text": text})
    return [Reply(T.ASK_QUESTION, _yes_no(ask), meta={"kind": "intent_ask", "intent": QUESTION})]


# --- answers to a question, and the help buttons ---------------------------------------------


def _pending(ctx: Context, ask: int) -> dict[str, Any]:
    """The state of the question ``ask``; a button of any other (old, forged) is refused."""
    state = ctx.state
    if state is None or state.flow != FLOW or state.data.get("ask") != ask:
        raise Refused(T.STALE)
    return state.data


async def _answer(ctx: Context, pressed: IntentAnswer) -> list[Reply]:
    data = _pending(ctx, pressed.ask)
    await ctx.clear_state()
    text = str(data.get("text") or "")
    if pressed.choice != "yes":
        simple = intent_read.plain(text)
        if intent_read.is_question(simple) and intent_read.is_policy(simple, question=True):
            return await faq.ask(ctx, text)
        return [Reply(T.NOTED_NO)]
    if data.get("kind") == ACK:
        return await tasks.acknowledge(ctx, int(data["number"]), series_of(str(data["item_kind"])))
    if data.get("kind") == QUESTION:
        return await faq.ask(ctx, text)
    ids = [int(i) for i in data.get("hh") or []]
    if len(ids) == 1:
        hh = await visit_service.household_for(ctx.session, ctx.me, ids[0])
        return await _visit(ctx, text, HouseholdName(hh.id, hh.code, hh.head_name))
    if not ids:
        return await cmd_visit(ctx, text)  # asks which household
    await ctx.set_state(FLOW, "pick", data)
    buttons = []
    for hid in ids:
        hh = await visit_service.household_for(ctx.session, ctx.me, hid)
        buttons.append(IntentPick(pressed.ask, hh.id).button(f"{hh.head_name}（{hh.code}）"))
    return [Reply(T.PICK, tuple(buttons), meta={"kind": "intent_ask", "intent": VISIT})]


async def _pick(ctx: Context, pressed: IntentPick) -> list[Reply]:
    data = _pending(ctx, pressed.ask)
    if pressed.household not in [int(i) for i in data.get("hh") or []]:
        raise Refused(T.STALE)
    hh = await visit_service.household_for(ctx.session, ctx.me, pressed.household)
    await ctx.clear_state()
    return await _visit(
        ctx, str(data.get("text") or ""), HouseholdName(hh.id, hh.code, hh.head_name)
    )


def button_handler(registry: Registry) -> Callable[[Context, str], Awaitable[list[Reply]]]:
    async def on_button(ctx: Context, _rest: str) -> list[Reply]:
        pressed = P.unpack(ctx.incoming.payload)
        if isinstance(pressed, IntentAnswer) and pressed.choice in ("yes", "no"):
            return await _answer(ctx, pressed)
        if isinstance(pressed, IntentPick):
            return await _pick(ctx, pressed)
        if isinstance(pressed, IntentVisit):
            visit_service.require_village(ctx.me)
            hh = await visit_service.household_for(ctx.session, ctx.me, pressed.household)
            draft = VisitDraft(msg=ctx.incoming.message_id)
            return await visit_flow.picked(ctx, hh, draft)
        if isinstance(pressed, IntentCommand) and pressed.what in COMMANDS:
            return await _run(ctx, registry, COMMANDS[pressed.what][1])
        raise Refused(T.STALE)

    return on_button


async def _run(ctx: Context, registry: Registry, text: str) -> list[Reply]:
    """A help button: the command it names, as if typed (the role is checked the same way)."""
    if text == "帮助":
        return [help_reply(ctx, registry)]
    matched = registry.match(text)
    if matched is None or ctx.me.role not in matched[0].roles:
        raise Refused(T.STALE)
    return await matched[0].run(ctx, matched[1])


def flow_handler(registry: Registry) -> Callable[[Context], Awaitable[list[Reply]]]:
    async def flow_step(ctx: Context) -> list[Reply]:
        """A message instead of an answer: the question lapses and the message is read anew
        (a photo or a location goes where it goes outside any flow)."""
        await ctx.clear_state()
        kind = ctx.incoming.kind
        if kind == "photo" and registry.on_photo:
            return await registry.on_photo(ctx)
        if kind == "location" and registry.on_location:
            return await registry.on_location(ctx)
        if kind == "text" and ctx.incoming.text.strip():
            return await on_text(ctx)
        return []

    return flow_step


def register(registry: Registry) -> None:
    registry.flow(FLOW, flow_handler(registry))
    registry.button("intent", button_handler(registry))
    registry.fallback_handler(on_text)
