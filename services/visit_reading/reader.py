"""Assembling a report: the household named first, then each check's clauses judged together.

See the package docstring for the API and the rules.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from core.checklist import CHECKS
from core.text import simplified
from services.visit_reading import cues
from services.visit_reading.clauses import Clause, check_of, hits, normalize, pieces, split
from services.visit_reading.lexicon import GROUPS, words

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
_GOES_ON = (
    "结果", "但", "可是", "不过", "只是", "又", "现在", "目前", "如今", "今年", "已经", "后来",
    "还是", "就是",
)  # fmt: skip
# ... of these, the ones that surely go on about the same thing (劝返了，结果又不去了); 但是 and
# 就是 may turn to something else (医保交了，就是老人腿脚不好).
_GOES_ON_SAME = ("结果", "后来", "又")
_UNSURE = 0.7  # below CONFIDENT: asked, never recorded
# The employment check asks whether someone ABLE to work is idle (DOMAIN.md). Staying home
# to care for a relative, or a household with no labour force, is for a clerk to weigh
# (data/eval/README.md): asked, never recorded as a problem.
_CANNOT_WORK = re.compile(r"照顾|照看|陪护|伺候|没有劳动力|没劳动力|无劳动力|缺劳动力")


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


def _unsure_problems(said: cues.Said, thin_only: bool = False) -> cues.Said:
    """The same say, its problems below the recording threshold (asked, never recorded);
    ``thin_only``: only those read from 没 + a one-character verb (没落下课: of what?)."""
    capped = tuple(
        dataclasses.replace(e, strength=min(e.strength, _UNSURE))
        if e.status == cues.PROBLEM and (e.thin or not thin_only)
        else e
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
        answered = _answer(clause, out[-1] if out else None)
        if answered is not None:  # 饮水 是, 医疗 否, 逾期 无: a form's answer to the item before
            out[-1] = (out[-1][0], out[-1][1], answered)
            continue
        firm = any(not e.fallback for e in said.evidence)
        key = clause.key if clause.strong or firm else None
        if key is not None and not clause.strong and out and out[-1][1] and _bare(clause):
            key = None  # 有水窖，够吃: a bare verdict speaks of the check before it
        if key is None and out and _carries(clause, said):
            prev_clause, prev_key, prev_said = _last_said(out)
            # 吃的用的都送回来，不缺: a weak word's clause said nothing; this says it.
            weak = prev_clause.key if not prev_said.evidence and _bare(clause) else None
            key = prev_key or weak
            if len(clause.norm) > _CARRY_MAX and not clause.norm.startswith(_GOES_ON_SAME):
                said = _unsure_problems(said)  # 医保交了，就是老人腿脚不好: not surely its check
            elif _glued_turn(out):
                said = _unsure_problems(said)  # 收入靠打零工，不稳定: of 收入 or of 打零工?
            else:
                said = _unsure_problems(said, thin_only=True)  # 读五年级，都没落下课
        elif key is not None and not clause.strong:
            said = _unsure_problems(said)  # 儿子出差去了: a weak word is no ground for a problem
        if key in _NO_NEED and any(w in clause.norm for w in _NO_NEED[key]):
            said = cues.Said((cues.Evidence(cues.OK, 0.9),), said.hedged)  # 贷款用不上
        out.append((clause, key, said))
    out = [(c, k, s) for c, key, s in out for k in _group(c, key)]
    # 饮水、住房都正常: a bare list of checks takes the verdict of the clause that ends it
    # (水、电、房子都没问题: a short item of no check in the list does not break it).
    for i in range(len(out) - 2, -1, -1):
        clause, key, said = out[i]
        j = i + 1
        while j < len(out) - 1 and _list_filler(out[j]):
            j += 1
        nxt_clause, nxt_key, nxt_said = out[j]
        listed = all(out[k][0].sep.strip() in _LIST_SEPS for k in range(i + 1, j + 1))
        if key and not said.evidence and nxt_key and nxt_said.evidence and listed:
            out[i] = (clause, key, nxt_said)
    return out


_YES = frozenset(("是", "有", "对", "y", "yes"))
_NO = frozenset(("否", "不是", "n", "no"))
_NONE = frozenset(("无", "没有", "没"))


def _answer(
    clause: Clause, before: tuple[Clause, str | None, cues.Said] | None
) -> cues.Said | None:
    """A clause that is only a form's answer (是 / 否 / 无) to the check named just before it
    (``饮水 是；医疗 否``, ``信贷 无 逾期 无``): what the item and its answer say together."""
    word = clause.norm.strip(" ：:，,。;；")
    if before is None or before[1] is None or word not in _YES | _NO | _NONE:
        return None
    said = before[2]
    statuses = {e.status for e in said.evidence}
    if word in _YES:
        if statuses == {cues.PROBLEM}:
            return said  # 逾期 是: the problem stands
        return cues.Said((cues.Evidence(cues.OK, 0.9),), said.hedged)
    if statuses == {cues.PROBLEM}:
        return cues.Said((cues.Evidence(cues.OK, 0.9),), said.hedged)  # 逾期 无, 辍学 否
    if word in _NO:
        return cues.Said((cues.Evidence(cues.PROBLEM, 0.9, answers=True),), said.hedged)
    # 信贷 无: having none (fine for credit, judged per check); 医保 无: not covered.
    return cues.Said((cues.Evidence(cues.PROBLEM, 0.85, absent=True),), said.hedged)


# Not needing a loan is fine (data/eval/README.md): words that are bad news elsewhere
# (用不上水) say the household has no need of it.
_NO_NEED = {"credit": words("不需要 用不上 用不着 不想贷 不贷 没需求 没有需求 不打算贷 暂不需要")}


def _glued_turn(out: list[tuple[Clause, str | None, cues.Said]]) -> bool:
    """The piece before turned from one check to another without punctuation (收入靠打零工):
    a verdict after it may be of either."""
    if len(out) < 2:
        return False
    (a, key_a, _), (b, key_b, _) = out[-2], out[-1]
    return a.end == b.start and key_a is not None and key_b is not None and key_a != key_b


def _list_filler(item: tuple[Clause, str | None, cues.Said]) -> bool:
    """An item of a list that is no check and says nothing (电, 路)."""
    clause, key, said = item
    return key is None and not said.evidence and not said.hedged and len(clause.norm) <= 2


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


_HIDDEN = "□"  # what a household's name reads as: no check word, no cue, no separator


@functools.lru_cache(maxsize=64)
def _names_pattern(names: tuple[str, ...]) -> re.Pattern[str] | None:
    """One alternation of the village's names (two characters or more), longest first."""
    usable = sorted({n for n in names if len(n) >= 2}, key=len, reverse=True)
    return re.compile("|".join(map(re.escape, usable))) if usable else None


def _hide_names(text: str, names: tuple[str, ...]) -> str:
    """``text`` with every household name of the village blanked (same length), so that
    叶水生 is not read as 水 nor 房玉兰 as 房. Names are stored simplified; the text is
    matched in simplified characters when that keeps its length."""
    pattern = _names_pattern(names)
    if pattern is None:
        return text
    simple = simplified(text)
    if len(simple) != len(text):
        simple = text
    return (
        pattern.sub(lambda m: _HIDDEN * len(m.group()), simple) if pattern.search(simple) else text
    )


def _named_first(text: str, hidden: str) -> tuple[str, int, int] | None:
    """A household of the village named at the start (after 今天去了 and the like): its
    name, where the reading starts and where the note starts."""
    found = pieces(text)
    if not found:
        return None
    start, end, _ = found[0]
    norm = normalize(text[start:end])
    if len(norm) != end - start:
        return None
    lead = _VISIT_LEAD.match(norm)
    skip = lead.end() if lead else 0
    at = start + skip
    if at >= end or hidden[at] != _HIDDEN:
        return None
    stop = at
    while stop < end and hidden[stop] == _HIDDEN:
        stop += 1
    after = norm[stop - start :]
    words = hits(after)
    glued = bool(words and words[0][0] == 0) or any(c.start == 0 for c in cues.scan(after[:4]))
    if after and after[0] not in "家的" and not glued and stop - at < 3:
        return None  # 王三汝: a longer name typed wrong, not 王三 (the reader of _query decides)
    name = simplified(text[at:stop])
    reading = stop
    for tail in ("家的", "家", "的"):
        if text.startswith(tail, reading) or norm.startswith(tail, reading - start):
            reading += len(tail)
            break
    return name, reading, start if skip else reading


def read_report(text: str, names: Iterable[str] = ()) -> Report:
    """Read one visit report (the text after the command word, or a whole free message).
    ``names``: the household heads of the sender's village, if known: a name is never read
    as a check word (叶水生 has 水), and a name that starts the text is the household."""
    hidden = _hide_names(text, tuple(names))
    first = _named_first(text, hidden) if hidden is not text else None
    query, rest, note_at = first or _query(text)
    note = _LEAD.sub("", text[note_at:]).rstrip()
    assigned = _assign(split(hidden, rest))
    by_key: dict[str, list[tuple[Clause, cues.Said]]] = {}
    unread: list[str] = []
    for clause, key, said in assigned:
        if key is None:
            unread.append(text[clause.start : clause.end])
        else:
            by_key.setdefault(key, []).append((clause, said))
    readings: dict[str, Reading] = {}
    for key in CHECKS:
        parts = by_key.get(key)
        if not parts:
            continue
        status, confidence = cues.judge([s for _, s in parts], key)
        if key == "employment" and status == cues.PROBLEM and _CANNOT_WORK.search(hidden):
            confidence = min(confidence, _UNSURE)
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
