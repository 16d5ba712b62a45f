"""Statuses and kinds stored as strings, one ``StrEnum`` each, with the words a cadre reads."""

from __future__ import annotations

from enum import StrEnum


class TaskKind(StrEnum):
    TASK = "task"  # 任务: do something and submit evidence
    NOTICE = "notice"  # 通知: read and acknowledge
    RECTIFY = "rectify"  # 整改: a problem found on a visit, assigned to its reporter


class AssignmentStatus(StrEnum):
    """One village's share of a task. "Overdue" is not a status: it is an open assignment
    whose deadline has passed."""

    PENDING = "pending"
    ACKED = "acked"
    RETURNED = "returned"
    SUBMITTED = "submitted"
    APPROVED = "approved"
    CANCELLED = "cancelled"


class ProblemStatus(StrEnum):
    OPEN = "open"
    REVIEW = "review"  # 整改完成 sent with its photo: township or county staff check it
    CLOSED = "closed"  # reviewed and approved (整改清零 counts only these)
    VOID = "void"


class VisitStatus(StrEnum):
    ACTIVE = "active"
    REVOKED = "revoked"


class TaskStatus(StrEnum):
    ACTIVE = "active"
    CANCELLED = "cancelled"
    CLOSED = "closed"


class OutboxStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"  # the effect it announced no longer applies
    DEAD = "dead"  # failed too often
    UNDELIVERABLE = "undeliverable"  # no usable channel identity


class IdentityStatus(StrEnum):
    OK = "ok"
    BLOCKED = "blocked"
    INVALID = "invalid"


TASK_KINDS: tuple[str, ...] = tuple(k.value for k in TaskKind)
OPEN = (AssignmentStatus.PENDING, AssignmentStatus.ACKED, AssignmentStatus.RETURNED)
ACTIVE = (*OPEN, AssignmentStatus.SUBMITTED)
# Problems not yet cleared: still to fix, or fixed and waiting for review.
UNCLEARED = (ProblemStatus.OPEN, ProblemStatus.REVIEW)

ASSIGNMENT_ZH = {
    AssignmentStatus.PENDING: "未确认",
    AssignmentStatus.ACKED: "已收到",
    AssignmentStatus.RETURNED: "已退回",
    AssignmentStatus.SUBMITTED: "待审核",
    AssignmentStatus.APPROVED: "已通过",
    AssignmentStatus.CANCELLED: "已撤销",
}
PROBLEM_ZH = {
    ProblemStatus.OPEN: "整改中",
    ProblemStatus.REVIEW: "待复核",
    ProblemStatus.CLOSED: "已整改",
    ProblemStatus.VOID: "已作废",
}
OUTBOX_ZH = {OutboxStatus.DEAD: "多次发送失败", OutboxStatus.UNDELIVERABLE: "没有可用的联系方式"}
