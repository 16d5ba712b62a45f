"""Assembling a report: the household named first, then each check's clauses judged together.

See the package docstring for the API and the rules.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field

from core.checklist import CHECKS
from core.text import simplified
from services.visit_reading import cues
from services.visit_reading.clauses import Clause, check_of, hits, normalize, pieces, split
from services.visit_reading.lexicon import GROUPS

CONFIDENT = cues.CONFIDENT
_CODE = re.compile(r"^[A-Za-z]{0,4}[-_]?\d{1,6}(?:[-_]\d{1,6}){0,3}$")
_LEAD = re.compile(r"^[\s,，。;；、：:]+")
# Words that make a clause a question, not a report (报销比例是多少).
_QUESTION = re.compile(
    r"多少|多久|多长|怎么|什么|如何|哪里|哪些|哪几|哪个|能不能|可不可以|是不是|算不算|要不要"
    r"|有没有|为什么|吗[？?]?$|[？?]$"
)
_LIST_SEPS = frozenset(("", "、", "和", "及", "与", " "))
_VISIT_LEAD = re.compile(
    r"(?:今天|今日|上午|下午|早上|中午|晚上|昨天|刚才|刚刚)?(?:是第.次)?(?:又|再)?"
    r"(?:去看了|去看|看了|去了|到了|去|到|走访了|走访|看望了|看望|来到|入户到|入户|刚从|从)?"
)
_NAME_MAX = 5  # household names are 2-4 characters (and a code is matched apart)
# A clause of no check right after one still speaks of it when it is short (已修好: at most
# _CARRY_MAX characters, _CARRY_REST of them not cues; 老人身体还行 has a subject of its own),
# settles it, or goes on from it (结果又不去了). Problems heard that way are only asked.
_CARRY_MAX = 6
_CARRY_REST = 3
_GOES_ON = ("结果", "但", "可是", "不过", "又", "现在", "目前", "已经", "后来", "还是", "就是")
_UNSURE = 0.7  # below CONFIDENT: asked, never recorded


@dataclass(frozen=True)
class Item:
    """A check as recorded: ``ok`` or ``problem``, with the user's words for it."""

    status: str
    text: str

    def to_dict(self) -> dict[str, str]:
        return {"status": self.status, "text": self.text}


@dataclass(frozen=True)
class Reading:
    """What the text says of one check. ``status`` is the best reading (``None``: it names
    the check but says neither way); ``confident`` is ``confidence >= CONFIDENT``."""

    key: str
    status: str | None
    confidence: float
    text: str  # the user's words for this check (exact clauses)

    @property
    def confident(self) -> bool:
        return self.status is not None and self.confidence >= CONFIDENT


@dataclass(frozen=True)
class Report:
    text: str  # what was read
    query: str  # household name or code given first, "" when none
    note: str  # the text after the household exactly as written (all of it if words came first)
    readings: dict[str, Reading] = field(default_factory=dict)
    unread: tuple[str, ...] = ()  # clauses about no check, as written
    mentions_checks: float = 0.0  # 0..1: how much the text reports on checks

    @property
    def checks(self) -> dict[str, Item]:
        """The confident readings: what may be recorded (and open a rectification)."""
        return {
            k: Item(r.status, r.text)
            for k, r in self.readings.items()
            if r.confident and r.status is not None
        }

    @property
    def unclear(self) -> tuple[str, ...]:
        """Checks the text talks about without a confident reading: ask, never guess."""
        return tuple(k for k, r in self.readings.items() if not r.confident)

    def checklist(self) -> dict[str, dict[str, str]]:
        return {k: item.to_dict() for k, item in self.checks.items()}


def _query(text: str) -> tuple[str, int, int]:
    """The household named at the start, where the reading begins and where the note begins
    (the whole text when the name came after other words: 今天去了唐勇家，……)."""
    found = pieces(text)
    if not found:
        return "", len(text), len(text)
    start, end, _ = found[0]
    first = text[start:end]
    if _CODE.match(first):
        return first, end, end
    norm = normalize(first)
    strong = [h for h in hits(norm) if h[3]]
    limit = strong[0][0] if strong else len(norm)
    lead = _VISIT_LEAD.match(norm)
    skip = lead.end() if lead else 0
    home = norm.find("家", skip + 1, limit) if len(norm) == len(first) else -1
    note = start if skip else None  # words before the name stay in the note
    if home - skip >= 2 or (home == skip + 1 and _check_follows(norm, home + 1)):
        at = start + home + 1  # 今天去了唐勇家，……
        return _bare_name(first[skip:home]), at, at if note is None else note
    if not strong:  # a long first piece is more than a name: read it too
        at = end if len(first) <= _NAME_MAX else start + skip
        return _bare_name(first), at, min(at, note if note is not None else at)
    pos = strong[0][0]
    said = [c.start for c in cues.scan(norm[:pos]) if c.start >= 2]
    pos = said[0] if said else pos  # 蔡德胜无辍学, 高明亮之前没活干: these belong to the check
    if pos >= 2 and len(norm) == len(first):
        name = first[skip:pos] if pos - skip >= 2 else first[:pos]
        # A long run before the first check word is more than a name: read it too.
        at = start + pos if len(name) <= _NAME_MAX else start + skip
        return _bare_name(name), at, min(at, note if note is not None else at)
    if len(first) <= 4 and first != strong[0][1] and not cues.read_clause(norm).evidence:
        return _bare_name(first), end, end  # a name with a check's character (牛二, 房玉兰)
    return "", start, start


def _check_follows(norm: str, at: int) -> bool:
    """唐家水挺好: a one-character surname + 家 counts only when a check word follows."""
    found = hits(norm[at:])
    return bool(found) and found[0][0] == 0


def _bare_name(name: str) -> str:
    """``唐勇家`` -> ``唐勇``; ``苏美兰的`` -> ``苏美兰``; ``張大山`` -> ``张大山`` (households
    are stored simplified)."""
    name = simplified(name)
    if "的" in name[2:]:
        name = name[: name.index("的", 2)]
    return name[:-1] if name.endswith("家") and len(name) >= 3 else name


def _join(text: str, clauses: list[Clause]) -> str:
    """The user's words of these clauses: runs that touch keep their own separators."""
    runs: list[str] = []
    run_start = clauses[0].start
    for prev, cur in zip(clauses, clauses[1:], strict=False):
        if not _SEP_ONLY.fullmatch(text[prev.end : cur.start]):
            runs.append(text[run_start : prev.end])
            run_start = cur.start
    runs.append(text[run_start : clauses[-1].end])
    return "，".join(runs)


_SEP_ONLY = re.compile(r"[\s,，。;；、！!|]*")


def _is_question(clause: Clause) -> bool:
    return bool(_QUESTION.search(clause.norm))


def _group(clause: Clause, key: str | None) -> tuple[str | None, ...]:
    """The checks a clause speaks of: one, or a group (两不愁三保障 正常)."""
    for word, keys in GROUPS.items():
        if word in clause.norm:
            return keys
    return (key,)


def _unsure_problems(said: cues.Said) -> cues.Said:
    """The same say, its problems below the recording threshold (asked, never recorded)."""
    capped = tuple(
        dataclasses.replace(e, strength=min(e.strength, _UNSURE)) if e.status == cues.PROBLEM else e
        for e in said.evidence
    )
    return cues.Said(capped, said.hedged)


def _last_said(
    out: list[tuple[Clause, str | None, cues.Said]],
) -> tuple[Clause, str | None, cues.Said]:
    """The clause a carried one continues: the last, or the one before a last that says
    nothing of any check (小额信贷五万，已到期，还没还)."""
    last = out[-1]
    if len(out) >= 2 and last[1] is None and last[0].key is None and not last[2].evidence:
        return out[-2]
    return out[-1]


def _rest(clause: Clause) -> int:
    """How many characters of the clause are not cues (neutral words such as 老人 count)."""
    said = sum(len(c.word) for c in cues.scan(clause.norm) if c.kind != "neutral")
    particles = sum(clause.norm.count(p) for p in "了的啊呀呢吧嘛")
    return len(clause.norm) - said - particles


def _bare(clause: Clause) -> bool:
    """A clause that is only a verdict (不缺, 都够): at most one character besides its cues."""
    return _rest(clause) <= 1


def _carries(clause: Clause, said: cues.Said) -> bool:
    """A clause of no check that still speaks of the one before it (房子漏雨，已修好; 再看看)."""
    if said.hedged and not said.evidence:
        return True
    if not any(not e.fallback for e in said.evidence):
        return False
    if clause.norm.startswith(_GOES_ON):
        return True  # 劝返了，结果又不去了
    short = len(clause.norm) <= _CARRY_MAX and _rest(clause) <= _CARRY_REST
    return short or any(e.resolves for e in said.evidence)


def _assign(clauses: list[Clause]) -> list[tuple[Clause, str | None, cues.Said]]:
    """Each clause with the check it speaks of (carry-over and lists resolved) and its say."""
    out: list[tuple[Clause, str | None, cues.Said]] = []
    for clause in clauses:
        said = cues.read_clause(clause.norm, clause.masked)
        firm = any(not e.fallback for e in said.evidence)
        key = clause.key if clause.strong or firm else None
        if key is not None and not clause.strong and out and out[-1][1] and _bare(clause):
            key = None  # 有水窖，够吃: a bare verdict speaks of the check before it
        if key is None and out and _carries(clause, said):
            prev_clause, prev_key, prev_said = _last_said(out)
            # 吃的用的都送回来，不缺: a weak word's clause said nothing; this says it.
            weak = prev_clause.key if not prev_said.evidence and _bare(clause) else None
            key = prev_key or weak
            if len(clause.norm) > _CARRY_MAX:
                said = _unsure_problems(said)  # 医保交了，就是老人腿脚不好: not surely its check
        elif key is not None and not clause.strong:
            said = _unsure_problems(said)  # 儿子出差去了: a weak word is no ground for a problem
        out.append((clause, key, said))
    out = [(c, k, s) for c, key, s in out for k in _group(c, key)]
    # 饮水、住房都正常: a bare list of checks takes the verdict of the clause that ends it.
    for i in range(len(out) - 2, -1, -1):
        clause, key, said = out[i]
        nxt_clause, nxt_key, nxt_said = out[i + 1]
        listed = nxt_clause.sep.strip() in _LIST_SEPS
        if key and not said.evidence and nxt_key and nxt_said.evidence and listed:
            out[i] = (clause, key, nxt_said)
    return out


def _mentions(assigned: list[tuple[Clause, str | None, cues.Said]], body: int) -> float:
    said_keys: set[str] = set()
    named_keys: set[str] = set()
    covered = 0
    for clause, key, said in assigned:
        if key is None or _is_question(clause):
            continue
        covered += len(clause.text)
        (said_keys if said.evidence else named_keys).add(key)
    if not body:
        return 0.0
    raw = 0.6 * len(said_keys) + 0.3 * len(named_keys - said_keys)
    return round(min(1.0, raw) * (0.8 + 0.2 * min(1.0, covered / body)), 3)


def read_report(text: str) -> Report:
    """Read one visit report (the text after the command word, or a whole free message)."""
    query, rest, note_at = _query(text)
    note = _LEAD.sub("", text[note_at:]).rstrip()
    assigned = _assign(split(text, rest))
    by_key: dict[str, list[tuple[Clause, cues.Said]]] = {}
    unread: list[str] = []
    for clause, key, said in assigned:
        if key is None:
            unread.append(clause.text)
        else:
            by_key.setdefault(key, []).append((clause, said))
    readings: dict[str, Reading] = {}
    for key in CHECKS:
        parts = by_key.get(key)
        if not parts:
            continue
        status, confidence = cues.judge([s for _, s in parts], key)
        readings[key] = Reading(key, status, confidence, _join(text, [c for c, _ in parts]))
    body = sum(len(c.text) for c, _, _ in assigned)
    return Report(
        text=text,
        query=query,
        note=note,
        readings=readings,
        unread=tuple(unread),
        mentions_checks=_mentions(assigned, body),
    )


__all__ = ["CONFIDENT", "Item", "Reading", "Report", "check_of", "read_report"]
