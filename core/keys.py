"""Outbox idempotency keys: every key is built here and only here, and parsed back here.

A key names the effect a row stands for, so enqueuing the same effect twice (two schedulers, a
job re-run, a retried message) writes one row. The formats are stored in the database: change
one only with a data migration.

    task:{assignment}                         a new task or notice pushed to a village
    task:{assignment}:approved                the village is told its submission passed
    task:{assignment}:returned:{n}            ... was returned (n-th time)
    task:{assignment}:submitted:{n}           the task's creator is told of a submission
    remind:{assignment}:{offset}[@r{round}]   a deadline reminder (offset "3d", "1d", "0d", "od{k}")
    escalate:{task}:{yyyymmdd}                the creator is told of overdue villages, once a day
    digest:{kind}:{person}:{yyyymmdd}         a morning or evening digest
    nudge:visits:{person}:{yyyy-mm}           the month-end visit nudge
    faq:answer:{question}:{unix seconds}      staff answered a queued question
    reply:{channel}:{message id}:{index}      a reply to a person's own message, kept for later
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date


def county_lane(county_id: int) -> str:
    """The outbox lane of a county's bulk pushes: counties take turns (storage.outbox)."""
    return f"county:{county_id}"


def task_push(assignment_id: int) -> str:
    return f"task:{assignment_id}"


def task_approved(assignment_id: int) -> str:
    return f"task:{assignment_id}:approved"


def task_returned(assignment_id: int, returns: int) -> str:
    return f"task:{assignment_id}:returned:{returns}"


def task_submitted(assignment_id: int, returns: int) -> str:
    return f"task:{assignment_id}:submitted:{returns}"


def reminder(assignment_id: int, label: str, round_: int = 0) -> str:
    suffix = f"@r{round_}" if round_ else ""
    return f"{reminder_prefix(assignment_id)}{label}{suffix}"


def reminder_prefix(assignment_id: int) -> str:
    """Prefix of every reminder row of one assignment (to cancel them together)."""
    return f"remind:{assignment_id}:"


def returned_prefix(assignment_id: int) -> str:
    return f"task:{assignment_id}:returned:"


def escalation(task_id: int, day: date) -> str:
    return f"escalate:{task_id}:{day:%Y%m%d}"


def digest(kind: str, person_id: int, day: date) -> str:
    return f"digest:{kind}:{person_id}:{day:%Y%m%d}"


def visit_nudge(person_id: int, month: str) -> str:
    return f"nudge:visits:{person_id}:{month}"


def faq_answer(question_id: int, unix_seconds: int) -> str:
    return f"faq:answer:{question_id}:{unix_seconds}"


def reply(channel: str, message_id: str, index: int) -> str:
    return f"reply:{channel}:{message_id}:{index}"


@dataclass(frozen=True)
class AckKeys:
    """The rows a 收到 on an assignment acknowledges: its push (exact key), its reminders and
    its return notices (key prefixes)."""

    exact: str
    prefixes: tuple[str, ...]


def acknowledged_by(assignment_id: int) -> AckKeys:
    return AckKeys(
        exact=task_push(assignment_id),
        prefixes=(reminder_prefix(assignment_id), returned_prefix(assignment_id)),
    )


# Keys of the rows a 收到 can be the answer to start with one of these (see acknowledges).
ACKABLE_PREFIXES = ("task:", "remind:")


def acknowledges(key: str) -> int | None:
    """The assignment a typed 收到 after this push would acknowledge: a task or notice push,
    a reminder or a return notice (the rows :func:`acknowledged_by` marks); ``None`` for any
    other push (an approval, a cancellation, a digest)."""
    aid = assignment_of(key)
    if aid is None:
        return None
    ack = acknowledged_by(aid)
    return aid if key == ack.exact or key.startswith(ack.prefixes) else None


def assignment_of(key: str) -> int | None:
    """The assignment a ``task:`` or ``remind:`` key is about, ``None`` for any other key."""
    head, _, rest = key.partition(":")
    if head not in ("task", "remind"):
        return None
    first = rest.split(":", 1)[0]
    return int(first) if first.isdigit() else None


# --- cancellation (撤销任务) -------------------------------------------------------------------
def task_cancelled(assignment_id: int) -> str:
    """The village is told a task it had received was withdrawn (``task:{a}:cancelled``)."""
    return f"task:{assignment_id}:cancelled"


def task_cancelled_creator(task_id: int) -> str:
    """The task's creator is told someone else withdrew it (``cancel:{task}:creator``)."""
    return f"cancel:{task_id}:creator"


def held_by_assignment(key: str) -> int | None:
    """The assignment whose being open a row needs in order to be sent: a task push
    (``task:{a}``) or a reminder (``remind:{a}:…``); ``None`` for any other row (notices of an
    approval, a return or a cancellation go out whatever the state)."""
    aid = assignment_of(key)
    if aid is None:
        return None
    if key == task_push(aid) or key.startswith(reminder_prefix(aid)):
        return aid
    return None


# --- rectification review (复核通过 / 复核退回) --------------------------------------------------
def rectify_review(problem_id: int, verdict: str, submitted_unix: int) -> str:
    """The village is told how its fix was reviewed; one per submission of the fix."""
    return f"rectify:{problem_id}:{verdict}:{submitted_unix}"
