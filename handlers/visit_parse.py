"""One-message visit reports: the reader is services/visit_reading; this module keeps the
name existing callers use and renders a checklist as summary lines.

    parse_report("王三女 饮水正常 孩子都在上学 医保已交 房子屋顶漏雨")
    -> query "王三女", water ok, education ok, medical ok, housing problem "房子屋顶漏雨"
"""

from __future__ import annotations

from collections.abc import Mapping

from core.checklist import CHECK_ZH, CHECKS, CORE_CHECKS, STATUS_ZH
from handlers import visit_texts as T
from services.visit_reading import Item, Reading, Report, read_report
from services.visit_reading.clauses import normalize

parse_report = read_report

__all__ = ["Item", "Reading", "Report", "describe", "normalize", "parse_report"]


def describe(
    checks: dict[str, dict[str, str]], unsure: Mapping[str, str] | None = None
) -> list[str]:
    """Summary lines, one per check, in display order: 待确认 for the ``unsure`` ones (the card
    asks about them), 未查看 for the core checks not given."""
    lines = []
    for key in CHECKS:
        item = checks.get(key)
        if item is not None:
            status = STATUS_ZH.get(item["status"], item["status"])
            lines.append(f"{CHECK_ZH[key]}：{status}（{item.get('text', '')}）")
        elif unsure and key in unsure:
            lines.append(T.SUMMARY_UNSURE.format(name=CHECK_ZH[key], text=unsure[key]))
        elif key in CORE_CHECKS:
            lines.append(f"{CHECK_ZH[key]}：未查看")
    return lines
