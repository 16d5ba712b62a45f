"""Public numbers: the one short number each thing is known by, everywhere.

A county numbers its own things, each series from 1 without gaps (``storage.counters`` hands
the numbers out in the transaction that writes the row):

- ``task``: tasks and notices share one series. A village's own item is "task 3 for 石门村":
  the task's number, never an assignment id. Shown ``任务 3`` (``通知 3`` for a notice).
- ``problem``: a problem found on a visit. Its rectification item (整改) is the same thing and
  carries the same number. Shown ``问题 5``.
- ``question``: a policy question handed to the county's staff (not every FAQ lookup). Shown
  ``提问 7``.

Internal row ids (assignments, tasks, problems, questions) never reach a person.
"""

from __future__ import annotations

import re
from enum import StrEnum

from core.statuses import TaskKind


class Series(StrEnum):
    """The counter a county keeps per kind of thing (``counters.kind``)."""

    TASK = "task"
    PROBLEM = "problem"
    QUESTION = "question"
    FAQ = "faq"  # FAQ entries a county adds in the console (ids ``C<county>-<n>``)


# The task kinds numbered in each series (a rectification item carries its problem's number).
TASK_KINDS_OF: dict[Series, tuple[str, ...]] = {
    Series.TASK: (TaskKind.TASK.value, TaskKind.NOTICE.value),
    Series.PROBLEM: (TaskKind.RECTIFY.value,),
}

# How a button names the series of an item (payloads stay short: ``item:ack:t:3``).
CODE_OF: dict[Series, str] = {Series.TASK: "t", Series.PROBLEM: "p"}
SERIES_OF_CODE: dict[str, Series] = {code: series for series, code in CODE_OF.items()}

_WORD = {TaskKind.TASK: "任务", TaskKind.NOTICE: "通知", TaskKind.RECTIFY: "问题"}
PROBLEM_WORD = "问题"
QUESTION_WORD = "提问"


def series_of(task_kind: str) -> Series:
    """The series a task of this kind is numbered in."""
    return Series.PROBLEM if task_kind == TaskKind.RECTIFY else Series.TASK


def task_ref(kind: str, number: int) -> str:
    """``任务 3`` / ``通知 3`` / ``问题 5`` (a rectification item is its problem)."""
    return f"{_WORD.get(TaskKind(kind), '任务')} {number}"


def problem_ref(number: int) -> str:
    return f"{PROBLEM_WORD} {number}"


def question_ref(number: int) -> str:
    return f"{QUESTION_WORD} {number}"


MAX_NUMBER = 2**31 - 1
_LEADING = re.compile(r"[#＃]?\s*(\d{1,10})(?!\d)\s*(.*)", re.S)


def leading_number(text: str) -> tuple[int | None, str]:
    """``#3 石门村 理由`` -> (3, "石门村 理由"); (None, text) when it does not start with a
    number (or the number is out of range). Full-width digits count (``３``)."""
    stripped = text.strip()
    m = _LEADING.match(stripped)
    if not m:
        return None, stripped
    value = int(m.group(1))
    if not 0 < value <= MAX_NUMBER:
        return None, stripped
    return value, m.group(2).strip()
