"""One-message visit reports -> household query + checklist items (ok / problem / not checked).

    parse_report("王三女 饮水正常 孩子都在上学 医保已交 房子屋顶漏雨")
    -> query "王三女", water ok, education ok, medical ok, housing problem "房子屋顶漏雨"

Rules of thumb, not a language model: the text is converted to simplified characters, common
typos are corrected, it is split into clauses, each clause is matched to a check by keywords
and given a polarity by problem / ok words (negated ok words count as problems). A clause that
names a check but says neither way is kept in the note, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from core.checklist import CHECK_ZH, CHECKS, CORE_CHECKS, STATUS_ZH
from core.text import simplified

# Longest keywords are tried first, so "小额信贷" wins over "贷".
KEYWORDS: dict[str, tuple[str, ...]] = {
    "water": (
        "饮水",
        "吃水",
        "喝水",
        "自来水",
        "水源",
        "水质",
        "水管",
        "水窖",
        "用水",
        "停水",
        "水井",
    ),
    "education": (
        "教育",
        "上学",
        "读书",
        "学校",
        "辍学",
        "失学",
        "学生",
        "孩子",
        "小孩",
        "助学",
        "学费",
        "资助",
    ),
    "medical": (
        "医疗",
        "医保",
        "看病",
        "住院",
        "大病",
        "慢性病",
        "慢病",
        "家庭医生",
        "签约医生",
        "合作医疗",
        "新农合",
        "药费",
        "吃药",
        "报销",
    ),
    "housing": (
        "住房",
        "房子",
        "房屋",
        "危房",
        "屋顶",
        "漏雨",
        "墙体",
        "墙",
        "改造",
        "住的",
        "房顶",
        "瓦",
    ),
    "income": ("收入", "两不愁", "吃穿", "吃饭", "穿衣", "粮食", "口粮", "生活"),
    "employment": ("就业", "务工", "打工", "外出", "公益岗", "工作", "培训", "找活"),
    "industry": ("产业", "养殖", "种植", "分红", "合作社", "养猪", "养牛", "养鸡", "果园", "茶园"),
    "credit": ("小额信贷", "贷款", "信贷", "扶贫贷", "还款", "逾期"),
    "security": ("低保", "养老", "社保", "特困", "残疾证", "临时救助", "救助", "五保", "保障金"),
}

# Negations of good news, checked before the problem words: "没问题" is good.
OK_PHRASES = (
    "没问题",
    "无问题",
    "没有问题",
    "没啥问题",
    "不愁",
    "无辍学",
    "没有辍学",
    "没辍学",
    "不漏",
    "没漏",
    "无危房",
    "不是危房",
    "没有困难",
    "无困难",
    "没有逾期",
    "无逾期",
    "未逾期",
    "没逾期",
    "不缺",
)
PROBLEM_WORDS = (
    "不正常",
    "不安全",
    "不稳定",
    "不到位",
    "不够",
    "不足",
    "没有",
    "没交",
    "未交",
    "没缴",
    "未缴",
    "没",
    "未",
    "无",
    "缺",
    "漏雨",
    "漏水",
    "危房",
    "裂",
    "坏",
    "断",
    "辍学",
    "失学",
    "困难",
    "问题",
    "欠",
    "逾期",
    "浑",
    "停水",
    "难",
    "差",
    "塌",
    "倒",
    "需要",
    "待",
    "不",
)
OK_WORDS = (
    "正常",
    "已",
    "都在",
    "在上学",
    "好",
    "安全",
    "达标",
    "足够",
    "稳定",
    "有保障",
    "良好",
    "按时",
    "到位",
    "享受",
    "领到",
    "参加",
    "参保",
    "签约",
    "落实",
    "有",
    "在",
    "通",
    "够",
    "够用",
    "不错",
)

# Typos seen on phone keyboards (pinyin homophones) -> the intended word.
TYPOS = {
    "引水": "饮水",
    "隐水": "饮水",
    "医宝": "医保",
    "依保": "医保",
    "医疗保线": "医疗保险",
    "住方": "住房",
    "住防": "住房",
    "房屋漏语": "房屋漏雨",
    "漏语": "漏雨",
    "漏与": "漏雨",
    "低宝": "低保",
    "正长": "正常",
    "正尝": "正常",
    "缀学": "辍学",
    "啜学": "辍学",
    "搓学": "辍学",
    "上雪": "上学",
    "尚学": "上学",
    "收如": "收入",
    "就叶": "就业",
    "产叶": "产业",
    "贷宽": "贷款",
    "危方": "危房",
    "自来谁": "自来水",
    "读数": "读书",
}
_SPLIT = re.compile(r"[\s,，。;；、！!？?：:/|]+")
_KEYWORD_LIST = sorted(
    ((kw, key) for key, kws in KEYWORDS.items() for kw in kws), key=lambda p: -len(p[0])
)


@dataclass(frozen=True)
class Item:
    status: str  # ok | problem
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"status": self.status, "text": self.text}


@dataclass
class Report:
    query: str  # household name or code, "" when none was given
    checks: dict[str, Item] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def note(self) -> str:
        return "；".join(self.notes)

    def checklist(self) -> dict[str, dict[str, str]]:
        return {k: self.checks[k].to_dict() for k in CHECKS if k in self.checks}


def normalize(text: str) -> str:
    """Simplified characters, typos corrected, full-width spaces folded."""
    out = simplified(text.replace("\u3000", " ").strip())
    for wrong, right in TYPOS.items():
        out = out.replace(wrong, right)
    return out


def _check_of(clause: str) -> tuple[str | None, int]:
    """The check a clause talks about and where its keyword starts (-1 when none)."""
    best: tuple[str | None, int] = (None, -1)
    for kw, key in _KEYWORD_LIST:
        pos = clause.find(kw)
        if pos >= 0 and (best[1] < 0 or pos < best[1]):
            best = (key, pos)
    return best


def polarity(clause: str) -> str | None:
    """``ok``, ``problem`` or ``None`` when the clause does not say."""
    if any(p in clause for p in OK_PHRASES):
        return "ok"
    # "都在上学" / "已交": a positive verb phrase beats a later generic "不" only when no
    # specific problem word is present, so test the specific problem words first.
    for word in PROBLEM_WORDS:
        if word in clause:
            # "有" inside "没有" etc. is handled by PROBLEM_WORDS coming first.
            return "problem"
    if any(w in clause for w in OK_WORDS):
        return "ok"
    return None


def split_query(first: str) -> tuple[str, str]:
    """``"王三女饮水正常"`` -> (``"王三女"``, ``"饮水正常"``): a name glued to the first check."""
    key, pos = _check_of(first)
    if key is None or pos <= 0:
        return (first, "") if key is None else ("", first)
    return first[:pos], first[pos:]


def parse_report(text: str) -> Report:
    """Parse the text after the command word."""
    norm = normalize(text)
    parts = [p for p in _SPLIT.split(norm) if p]
    if not parts:
        return Report(query="")
    query, glued = split_query(parts[0])
    clauses = ([glued] if glued else []) + parts[1:]
    report = Report(query=query)
    for clause in clauses:
        key, _ = _check_of(clause)
        status = polarity(clause) if key else None
        if key is None or status is None:
            report.notes.append(clause)
            continue
        previous = report.checks.get(key)
        if previous is not None:
            # Two clauses on one check: a problem outweighs "ok", and both texts are kept.
            status = "problem" if "problem" in (status, previous.status) else "ok"
            clause = f"{previous.text}，{clause}"
        report.checks[key] = Item(status, clause)
    return report


def describe(checks: dict[str, dict[str, str]]) -> list[str]:
    """Summary lines, one per check, in display order (未查看 for the core checks not given)."""
    lines = []
    for key in CHECKS:
        item = checks.get(key)
        if item is None:
            if key in CORE_CHECKS:
                lines.append(f"{CHECK_ZH[key]}：未查看")
            continue
        status = STATUS_ZH.get(item["status"], item["status"])
        lines.append(f"{CHECK_ZH[key]}：{status}（{item.get('text', '')}）")
    return lines
