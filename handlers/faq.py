"""Policy questions in chat (政策问答): answer from the FAQ, offer "did you mean", or hand the
question to the asker's county staff, who answer it (待答问题 / 答复) and can save the answer
as a new FAQ entry in one step (存为问答).

Free text that handlers/intent.py reads as a policy question comes here; ``问 <问题>`` forces
it. The decisions are services.faq's; this module parses the chat text
and the buttons (core.payloads) and renders the outcome. A use case checks before it writes,
so its refusal is shown as a plain reply and the rest of the message's work is kept.
"""

from __future__ import annotations

import logging
from typing import Any

from core import payloads
from core.errors import Conflict, Invalid
from core.messages import Button, Reply
from core.numbers import leading_number, question_ref
from core.payloads import FaqNone, FaqNotUseful, FaqPick, FaqUseful
from core.roles import COUNTY_ROLES, ROLES
from handlers import faq_texts as T
from handlers.context import Context
from handlers.registry import Command, Registry
from services import faq
from services.faq_search import Entry
from storage.questions import QuestionDTO

log = logging.getLogger(__name__)

QUEUE_LIMIT = 10  # questions shown by 待答问题


def answer_reply(entry: Entry, question_id: int, *, title: bool = False) -> Reply:
    body = T.ANSWER.format(answer=entry.answer, source=entry.source or T.DEFAULT_SOURCE)
    if title:
        body = T.ANSWER_TITLE.format(question=entry.question) + body
    return Reply(
        body,
        (
            FaqUseful(question_id).button(T.USEFUL),
            FaqNotUseful(question_id).button(T.NOT_USEFUL),
        ),
        meta={"kind": "faq", "faq_id": entry.id, "question": question_id},
    )


def _asked_reply(asked: faq.Asked) -> Reply:
    q = asked.question
    if asked.outcome == "answered" and asked.entry is not None:
        return answer_reply(asked.entry, q.id)
    if asked.outcome == "suggested":
        buttons: list[Button] = [
            FaqPick(q.id, h.faq_id).button(h.question[:30]) for h in asked.suggestions
        ]
        buttons.append(FaqNone(q.id).button(T.NONE_OF_THESE))
        return Reply(T.SUGGEST, tuple(buttons), meta={"kind": "faq_suggest", "question": q.id})
    if asked.outcome == "no_county" or q.number is None:
        return Reply(T.NO_COUNTY)
    return Reply(T.HANDED_OFF.format(ref=question_ref(q.number)), meta=_queued_meta(q))


def _queued_meta(q: QuestionDTO) -> dict[str, Any]:
    return {"kind": "faq_pending", "number": q.number}


def _handed_off(q: QuestionDTO, template: str, no_county: str) -> Reply:
    """The question went to the county's staff: its number, as they will answer it."""
    if q.number is None:
        return Reply(no_county)
    return Reply(template.format(ref=question_ref(q.number)), meta=_queued_meta(q))


async def ask(ctx: Context, text: str) -> list[Reply]:
    if faq.is_blank(text):
        return [Reply(T.ASK_HOW)]
    index = ctx.services.faq
    if index is None:
        return [Reply(T.NOT_READY)]
    asked = await faq.ask(ctx.session, ctx.me, text, index=index, now=ctx.now())
    if asked is None:
        # Only greetings or fillers ("你好", "在吗"): nothing to answer, nothing to queue.
        return [Reply(T.ASK_HOW)]
    q = asked.question
    log.info(
        "faq %s msg=%s q=%s faq=%s score=%s",
        q.status,
        ctx.incoming.message_id,
        q.id,
        q.faq_id,
        q.score,
    )
    return [_asked_reply(asked)]


async def ask_command(ctx: Context, rest: str) -> list[Reply]:
    return await ask(ctx, rest)


# --- buttons: FaqUseful / FaqNotUseful / FaqNone / FaqPick -----------------------------------
async def _press(ctx: Context, pressed: payloads.Payload | None) -> list[Reply]:
    session, me = ctx.session, ctx.me
    if isinstance(pressed, FaqUseful):
        await faq.feedback(session, me, pressed.question, useful=True)
        return [Reply(T.THANKS)]
    if isinstance(pressed, FaqNotUseful):
        q = await faq.feedback(session, me, pressed.question, useful=False)
        return [_handed_off(q, T.USELESS, T.USELESS_NO_COUNTY)]
    if isinstance(pressed, FaqNone):
        q = await faq.hand_off(session, me, pressed.question)
        return [_handed_off(q, T.HANDED_OFF, T.NO_COUNTY)]
    if isinstance(pressed, FaqPick):
        q, entry = await faq.pick(session, me, pressed.question, pressed.faq)
        return [answer_reply(entry, q.id, title=True)]
    return [Reply(faq.STALE)]


async def on_button(ctx: Context, rest: str) -> list[Reply]:
    try:
        return await _press(ctx, payloads.unpack(f"faq:{rest}"))
    except (Invalid, Conflict) as refusal:  # a refusal goes up: audited
        return [Reply(refusal.message)]


# --- county staff: 待答问题 / 答复 / 存为问答 ----------------------------------------------
async def queue(ctx: Context, _rest: str) -> list[Reply]:
    found = await faq.unanswered(ctx.session, ctx.me, limit=QUEUE_LIMIT)
    if not found.items:
        return [Reply(T.QUEUE_EMPTY)]
    lines = [
        T.QUEUE_LINE.format(
            ref=question_ref(item.question.number or 0),
            name=item.asker.name if item.asker else T.UNKNOWN_PERSON,
            region=item.asker.region_name if item.asker else T.UNKNOWN_PERSON,
            when=ctx.rules.local(item.question.created_at).strftime("%m-%d %H:%M"),
            text=item.question.text[:80],
        )
        for item in found.items
    ]
    if found.total > len(lines):  # the rows are already bounded by the query
        lines.append(T.QUEUE_MORE.format(n=found.total - len(lines)))
    body = "\n".join([T.QUEUE_HEAD.format(n=found.total), *lines])
    return [Reply(body + "\n" + T.QUEUE_TAIL.format(id=found.items[0].question.number))]


def _question_number(text: str) -> int | None:
    """ "12" or "#12" -> 12 (a question's public number); anything else -> None."""
    number, rest = leading_number(text)
    return number if not rest else None


async def reply_to_question(ctx: Context, rest: str) -> list[Reply]:
    qid_text, _, answer = rest.strip().partition(" ")
    answer = answer.strip()
    if not qid_text or not answer:
        return [Reply(T.REPLY_HOW)]
    qid = _question_number(qid_text)
    if qid is None:
        return [Reply(T.REPLY_HOW)]
    try:
        done = await faq.answer(ctx.session, ctx.me, qid, answer, now=ctx.now(), rules=ctx.rules)
    except (Invalid, Conflict) as refusal:  # a refusal goes up: audited
        return [Reply(refusal.message)]
    name = done.asker.name if done.asker else T.THE_ASKER
    return [Reply(T.REPLIED.format(name=name, ref=question_ref(qid), n=qid))]


async def save_as_faq(ctx: Context, rest: str) -> list[Reply]:
    qid_text = rest.strip()
    if not qid_text:
        return [Reply(T.SAVE_HOW)]
    qid = _question_number(qid_text)
    if qid is None:
        return [Reply(T.SAVE_HOW)]
    try:
        entry = await faq.save_as_faq(
            ctx.session, ctx.me, qid, index=ctx.services.faq, now=ctx.now(), rules=ctx.rules
        )
    except (Invalid, Conflict) as refusal:  # a refusal goes up: audited
        return [Reply(refusal.message)]
    return [Reply(T.SAVED.format(faq_id=entry.id))]


def register(registry: Registry) -> None:
    registry.command(Command(("问", "/ask"), ask_command, frozenset(ROLES), T.HELP_ASK, order=500))
    registry.command(
        Command(("待答问题", "/questions"), queue, COUNTY_ROLES, T.HELP_QUEUE, order=510)
    )
    registry.command(
        Command(("答复", "/answer"), reply_to_question, COUNTY_ROLES, T.HELP_ANSWER, order=520)
    )
    registry.command(
        Command(("存为问答", "/savefaq"), save_as_faq, COUNTY_ROLES, T.HELP_SAVE, order=530)
    )
    registry.button("faq", on_button)
