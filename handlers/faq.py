"""Policy questions in chat (政策问答): answer from the FAQ, offer "did you mean", or hand the
question to the asker's county staff, who answer it (待答问题 / 答复) and can save the answer
as a new FAQ entry in one step (存为问答).

Any text that is not a command and not part of a flow comes here (the registry fallback);
``问 <问题>`` forces it. The index is ``ctx.services["faq"]`` (handlers.faq_service).
"""

from __future__ import annotations

import logging

from core.messages import Button, Reply
from core.roles import COUNTY_ROLES, ROLES
from handlers.context import Context
from handlers.faq_search import Entry, Result, normalize
from handlers.faq_service import FaqService
from handlers.registry import Command, Registry
from storage import faq as faq_store
from storage import people as people_store
from storage import regions as region_store
from storage.faq import FaqDTO, QuestionDTO

log = logging.getLogger(__name__)

QUEUE_LIMIT = 10  # questions shown by 待答问题
MAX_STAFF_ANSWER = 1000
SAVED_TAG = "县级答复"

# --- user-facing text ------------------------------------------------------------------------
ASK_HOW = "请直接发送您的政策问题，例如：低保渐退多长时间？"
NOT_READY = "政策问答正在启动，请稍后再问。"
ANSWER = "{answer}\n来源：{source}"
ANSWER_TITLE = "【{question}】\n"
SUGGEST = "您想问的是下面哪一个？点选即可查看答案；都不是请点「都不是」，我会转给县里工作人员。"
NONE_OF_THESE = "都不是"
HANDED_OFF = "这个问题我还答不准，已转给县里工作人员（编号 {id}），答复后会发给您。"
NO_COUNTY = "这个问题我还答不准，请直接联系县乡村振兴局的工作人员。"
THANKS = "谢谢反馈！"
USELESS = "抱歉没帮上忙，已转给县里工作人员（编号 {id}），答复后会发给您。"
STALE = "这个按钮已失效，请重新提问。"
QUEUE_EMPTY = "目前没有待答问题。"
QUEUE_HEAD = "待答问题（共 {n} 条，最早的在前）："
QUEUE_LINE = "#{id} {name}（{region}，{when}）：{text}"
QUEUE_MORE = "……还有 {n} 条"
QUEUE_TAIL = "答复请发送「答复 编号 内容」，例如：答复 {id} 渐退期一般为一年。"
REPLY_HOW = "请这样发送：答复 编号 内容，例如：答复 12 渐退期一般为一年。"
NO_SUCH_QUESTION = "没有编号为 {id} 的本县问题，请发送「待答问题」查看编号。"
TOO_LONG = "答复太长了（最多 {limit} 字），请精简后再发。"
PUSHED_ANSWER = "县里答复了您的问题（编号 {id}）：\n问：{question}\n答：{answer}"
REPLIED = "已答复，并发送给{name}。要存入问答库，请发送「存为问答 {id}」。"
SAVE_HOW = "请这样发送：存为问答 编号，例如：存为问答 12"
SAVE_NEEDS_ANSWER = "编号 {id} 还没有答复，请先发送「答复 {id} 内容」。"
SAVED_ALREADY = "编号 {id} 已经存为问答 {faq_id}。"
SAVED = "已存为问答 {faq_id}，以后有人问同样的问题会直接回答。"
SAVED_SOURCE = "县级工作人员答复（{date}）"


# --- asking ------------------------------------------------------------------------------------
def _service(ctx: Context) -> FaqService | None:
    service = ctx.services.get("faq")
    return service if isinstance(service, FaqService) else None


def answer_reply(entry: Entry, question_id: int, *, title: bool = False) -> Reply:
    body = ANSWER.format(answer=entry.answer, source=entry.source or "政策问答库")
    if title:
        body = ANSWER_TITLE.format(question=entry.question) + body
    return Reply(
        body,
        (Button("有用", f"faq:up:{question_id}"), Button("没用", f"faq:down:{question_id}")),
        meta={"kind": "faq", "faq_id": entry.id, "question": question_id},
    )


async def _county_id(ctx: Context) -> int | None:
    county = await region_store.county_of(ctx.session, ctx.me.region_id)
    return county.id if county else None


async def ask(ctx: Context, text: str) -> list[Reply]:
    text = text.strip()
    if not normalize(text):
        return [Reply(ASK_HOW)]
    service = _service(ctx)
    if service is None:
        return [Reply(NOT_READY)]
    index = await service.current(ctx.session)
    if not index.analyzer.words(normalize(text)):
        # Only greetings or fillers ("你好", "在吗"): nothing to answer, nothing to queue.
        return [Reply(ASK_HOW)]
    result: Result = index.search(text)
    best = result.best
    status = {"answer": faq_store.ANSWERED, "suggest": faq_store.SUGGESTED}.get(
        result.decision, faq_store.PENDING
    )
    county_id = await _county_id(ctx)
    q = await faq_store.record_question(
        ctx.session,
        asked_by=ctx.me.id,
        county_id=county_id,
        text=text,
        status=status,
        now=ctx.now(),
        faq_id=best.faq_id if best and status != faq_store.PENDING else None,
        score=best.score if best else None,
    )
    log.info(
        "faq %s msg=%s q=%s faq=%s score=%s",
        status,
        ctx.incoming.message_id,
        q.id,
        q.faq_id,
        q.score,
    )
    if status == faq_store.ANSWERED and best is not None:
        # The index holds the rows it was built from in this very session: no second lookup.
        return [answer_reply(index.entries[best.faq_id], q.id)]
    if status == faq_store.SUGGESTED:
        buttons = [Button(h.question[:30], f"faq:pick:{q.id}:{h.faq_id}") for h in result.hits]
        buttons.append(Button(NONE_OF_THESE, f"faq:none:{q.id}"))
        return [Reply(SUGGEST, tuple(buttons), meta={"kind": "faq_suggest", "question": q.id})]
    if county_id is None:
        return [Reply(NO_COUNTY)]
    return [Reply(HANDED_OFF.format(id=q.id), meta={"kind": "faq_pending", "question": q.id})]


async def ask_command(ctx: Context, rest: str) -> list[Reply]:
    return await ask(ctx, rest)


async def on_text(ctx: Context) -> list[Reply]:
    return await ask(ctx, ctx.incoming.text)


# --- buttons: faq:up|down|none:<question>, faq:pick:<question>:<faq id> ------------------------
async def on_button(ctx: Context, rest: str) -> list[Reply]:
    action, _, arg = rest.partition(":")
    qid_text, _, faq_id = arg.partition(":")
    qid = _question_number(qid_text)
    if qid is None:
        return [Reply(STALE)]
    q = await faq_store.get_question(ctx.session, qid)
    if q is None or q.asked_by != ctx.me.id:
        return [Reply(STALE)]
    if action == "up":
        await faq_store.update_question(ctx.session, q.id, feedback="useful")
        return [Reply(THANKS)]
    if action == "down":
        await faq_store.update_question(
            ctx.session, q.id, feedback="useless", status=faq_store.PENDING
        )
        return [Reply(USELESS.format(id=q.id))]
    if action == "none":
        await faq_store.update_question(ctx.session, q.id, status=faq_store.PENDING)
        return [Reply(HANDED_OFF.format(id=q.id))]
    if action == "pick":
        entry = await faq_store.get(ctx.session, faq_id)
        if entry is None:
            return [Reply(STALE)]
        await faq_store.update_question(
            ctx.session, q.id, faq_id=entry.id, status=faq_store.ANSWERED
        )
        return [answer_reply(entry, q.id, title=True)]
    return [Reply(STALE)]


# --- county staff: 待答问题 / 答复 / 存为问答 ----------------------------------------------
async def queue(ctx: Context, _rest: str) -> list[Reply]:
    county_id = await _county_id(ctx)
    if county_id is None:
        return [Reply(QUEUE_EMPTY)]
    rows, total = await faq_store.pending(ctx.session, county_id, limit=QUEUE_LIMIT)
    if not rows:
        return [Reply(QUEUE_EMPTY)]
    lines = []
    for q in rows:
        asker = await people_store.get(ctx.session, q.asked_by)
        lines.append(
            QUEUE_LINE.format(
                id=q.id,
                name=asker.name if asker else "?",
                region=asker.region_name if asker else "?",
                when=ctx.rules.local(q.created_at).strftime("%m-%d %H:%M"),
                text=q.text[:80],
            )
        )
    if total > len(rows):  # rows is already bounded by the query; say how many are left
        lines.append(QUEUE_MORE.format(n=total - len(rows)))
    body = "\n".join([QUEUE_HEAD.format(n=total), *lines])
    return [Reply(body + "\n" + QUEUE_TAIL.format(id=rows[0].id))]


def _question_number(text: str) -> int | None:
    """ "12" or "#12" -> 12; anything else (or absurdly long) -> None."""
    digits = text.strip().lstrip("#")
    return int(digits) if digits.isdigit() and len(digits) <= 9 else None


async def _my_question(ctx: Context, qid_text: str) -> QuestionDTO | None:
    qid = _question_number(qid_text)
    if qid is None:
        return None
    q = await faq_store.get_question(ctx.session, qid)
    if q is None or q.county_id is None or q.county_id != await _county_id(ctx):
        return None
    return q


async def reply_to_question(ctx: Context, rest: str) -> list[Reply]:
    qid_text, _, answer = rest.strip().partition(" ")
    answer = answer.strip()
    if not qid_text or not answer:
        return [Reply(REPLY_HOW)]
    q = await _my_question(ctx, qid_text)
    if q is None:
        return [Reply(NO_SUCH_QUESTION.format(id=qid_text))]
    if len(answer) > MAX_STAFF_ANSWER:
        return [Reply(TOO_LONG.format(limit=MAX_STAFF_ANSWER))]
    now = ctx.now()
    await faq_store.answer_question(ctx.session, q.id, answer=answer, by=ctx.me.id, now=now)
    await ctx.push(
        q.asked_by,
        Reply(
            PUSHED_ANSWER.format(id=q.id, question=q.text, answer=answer),
            meta={"kind": "faq_staff_answer", "question": q.id},
        ),
        # A corrected answer is a new message, so the key carries the time of answering.
        key=f"faq:answer:{q.id}:{int(now.timestamp())}",
    )
    await ctx.audit("faq.answer", f"question:{q.id}")
    asker = await people_store.get(ctx.session, q.asked_by)
    return [Reply(REPLIED.format(name=asker.name if asker else "提问人", id=q.id))]


async def save_as_faq(ctx: Context, rest: str) -> list[Reply]:
    qid_text = rest.strip()
    if not qid_text:
        return [Reply(SAVE_HOW)]
    q = await _my_question(ctx, qid_text)
    if q is None:
        return [Reply(NO_SUCH_QUESTION.format(id=qid_text))]
    if q.status != faq_store.STAFF_ANSWERED or not q.answer:
        return [Reply(SAVE_NEEDS_ANSWER.format(id=q.id))]
    faq_id = f"Q{q.id}"
    if await faq_store.get(ctx.session, faq_id) is not None:
        return [Reply(SAVED_ALREADY.format(id=q.id, faq_id=faq_id))]
    today = ctx.rules.local(ctx.now()).date()
    await faq_store.add(
        ctx.session,
        FaqDTO(
            id=faq_id,
            question=q.text[: faq_store.MAX_QUESTION],
            answer=q.answer,
            source=SAVED_SOURCE.format(date=today.isoformat()),
            tags=(SAVED_TAG,),
            reviewed_on=today,
        ),
        ctx.now(),
    )
    await faq_store.update_question(ctx.session, q.id, faq_id=faq_id)
    await ctx.audit("faq.save", f"faq:{faq_id}", {"question": q.id})
    service = _service(ctx)
    if service is not None:
        # Rebuild now (inside this transaction, which sees the new row) so the next question
        # is answered from it; other processes notice the changed fingerprint on their own.
        await service.current(ctx.session)
    return [Reply(SAVED.format(faq_id=faq_id))]


def register(registry: Registry) -> None:
    registry.command(
        Command(("问", "/ask"), ask_command, frozenset(ROLES), "问 问题 — 查询政策问答", order=500)
    )
    registry.command(
        Command(
            ("待答问题", "/questions"),
            queue,
            COUNTY_ROLES,
            "待答问题 — 查看转给县里的政策问题",
            order=510,
        )
    )
    registry.command(
        Command(
            ("答复", "/answer"),
            reply_to_question,
            COUNTY_ROLES,
            "答复 编号 内容 — 回答问题",
            order=520,
        )
    )
    registry.command(
        Command(
            ("存为问答", "/savefaq"),
            save_as_faq,
            COUNTY_ROLES,
            "存为问答 编号 — 把答复存入问答库",
            order=530,
        )
    )
    registry.button("faq", on_button)
    if registry.fallback is not None:
        raise ValueError("a free-text fallback is already registered")
    registry.fallback = on_text
