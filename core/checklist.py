"""The visit checklist (两不愁三保障 and the rest): its check keys in display order and the name
of each, which is also the kind of the problem a failed check opens.

The problem's kind is stored, so these names are data, not only display. The parser
(handlers/visit_parse.py), the use cases (services/visits*.py) and the ledger (bot/reports.py)
all read them from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

CHECKS: tuple[str, ...] = (
    "water",
    "education",
    "medical",
    "housing",
    "income",
    "employment",
    "industry",
    "credit",
    "security",
)
CORE_CHECKS: tuple[str, ...] = CHECKS[:5]
CHECK_ZH: dict[str, str] = {
    "water": "饮水安全",
    "education": "义务教育",
    "medical": "基本医疗",
    "housing": "住房安全",
    "income": "收入吃穿",
    "employment": "就业",
    "industry": "产业",
    "credit": "小额信贷",
    "security": "社会保障",
}
OK, PROBLEM = "ok", "problem"
STATUS_ZH: dict[str, str] = {OK: "正常", PROBLEM: "有问题"}


def problem_keys(checks: Mapping[str, Any]) -> list[str]:
    """The checks marked as a problem, in display order."""
    return [k for k in CHECKS if checks.get(k, {}).get("status") == PROBLEM]
