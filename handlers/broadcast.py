"""County staff send tasks and notices down to villages (发任务 / 发通知), review submissions
(通过 / 退回), follow progress and see messages that could not be delivered (死信).

The commands live in ``handlers.task_authoring`` (sending) and ``handlers.task_review``
(reviewing and following); this module registers them with the dead-letter list."""

from __future__ import annotations

from core.messages import Reply, paged
from core.privacy import mask_pii
from core.roles import COUNTY_ROLES, Role
from core.statuses import OutboxStatus
from handlers import task_texts as T
from handlers.context import Context
from handlers.registry import Command, Registry
from handlers.task_authoring import FLOW, flow_step, on_button, send_notice, send_task
from handlers.task_review import (
    REVIEW_FLOW,
    approve,
    cancel,
    progress,
    return_,
    review_flow,
    waiting,
)
from services import task_texts as ST
from storage.readmodels.dead_letters import DeadLetter
from storage.readmodels.dead_letters import dead_letters as dead_letter_list


async def dead_letters(ctx: Context, _rest: str) -> list[Reply]:
    """Messages that could not be delivered to people of this county (死信)."""
    rows = await dead_letter_list(ctx.session, ctx.me.region_id)
    if not rows:
        return [Reply(T.DEAD_NONE)]
    return [Reply("\n".join([T.DEAD_HEAD, *paged([_dead_line(d) for d in rows])]))]


def _dead_line(d: DeadLetter) -> str:
    """Who, which message (its first words, masked), why, and what to do, in Chinese."""
    unbound = d.status == OutboxStatus.UNDELIVERABLE
    return ST.DEAD_LINE_ZH.format(
        id=d.id,
        name=d.recipient,
        what=ST.DEAD_WHAT.format(words=mask_pii(d.first_words)) if d.first_words else "",
        why=ST.DEAD_WHY_UNBOUND if unbound else ST.DEAD_WHY_FAILED,
        next_step=(ST.DEAD_NEXT_UNBOUND if unbound else ST.DEAD_NEXT_FAILED).format(
            name=d.recipient
        ),
    )


def register(registry: Registry) -> None:
    county = frozenset(COUNTY_ROLES)
    dispatch = county | {Role.TOWNSHIP_STAFF}  # a township: its own villages only
    registry.flow(FLOW, flow_step)
    registry.flow(REVIEW_FLOW, review_flow)
    registry.button("bcast", on_button)
    registry.command(
        Command(
            ("发任务", "/task"),
            send_task,
            dispatch,
            "发任务 标题 / 截止 12月5日前 / 范围 东岭镇 — 给各村派任务（先预览，确认后发出）",
            prefix=True,
            order=300,
        )
    )
    registry.command(
        Command(
            ("发通知", "/notice"),
            send_notice,
            dispatch,
            "发通知 标题 / 内容 …… — 给各村发通知",
            prefix=True,
            order=301,
        )
    )
    registry.command(
        Command(
            ("通过",), approve, dispatch, "通过 任务编号 [村名] — 审核通过一个村的提交", order=310
        )
    )
    registry.command(
        Command(
            ("退回",),
            return_,
            dispatch,
            "退回 任务编号 [村名] 理由 — 退回重做（可加 / 截止 本周五）",
            order=311,
        )
    )
    registry.command(
        Command(("待审核",), waiting, dispatch, "待审核 — 查看各村提交的材料", order=312)
    )
    registry.command(
        Command(
            ("进度", "任务进度"), progress, dispatch, "进度 [任务编号] — 任务完成情况", order=313
        )
    )
    registry.command(
        Command(
            ("撤销任务",), cancel, dispatch, "撤销任务 任务编号 — 撤回任务并停止提醒", order=314
        )
    )
    registry.command(
        Command(("死信", "发送失败"), dead_letters, county, "死信 — 查看发送失败的消息", order=390)
    )
