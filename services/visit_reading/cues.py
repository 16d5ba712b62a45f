"""What a clause says of its check: ok, problem or nothing sure, with a confidence.

The clause (simplified, typos fixed) is scanned left to right for the longest cue at each
place (the word lists are lexicon.CUES). Cues are good news (正常, 交了, 能报销), bad news
(漏雨, 辍学, 逾期), negators (不, 没, 未, 无: they flip the cue right after them, or a bad word
a little further past weak words, so 不漏 and 不会有问题 are good and 没交 is bad; two negators
cancel; a negator with nothing after it, or before the check's own word, is bad news: 医保没有,
没有收入, except that having no loan is fine; a 否 answering a good name is bad: 住房安全：否),
hedges (好像, 听说, 吗, 预计: nothing hedged is sure unless a later clause says it plainly),
contrasts (但是: what follows decides), the past (以前漏雨 gives way to what is said now),
resolutions (已修好, 已劝返, 危房改造过: they settle an earlier problem), words that say the check
is fine only when nothing else is said (住房安全, 外出务工, 有), and neutral words that only
shadow others (老人, 出差, 幸亏).

Where the words could mean something else, the reading is kept below :data:`CONFIDENT` (asked,
never recorded): 没 + a one-character verb that may begin a longer word (没落下课, 还没通知),
a potential complement after a verb the reader does not know (卖不掉), 有 + unknown words
(有白蚁). 没有 reaches a bad word past a short unknown subject (没有适龄儿童辍学); 没有……不……的
cancels; 等……再 is not yet said; 比去年 compares, it is not the past.

:func:`judge` turns the evidence of one or more clauses of a check into (status, confidence);
below :data:`CONFIDENT` the reader asks instead of recording. Clauses that disagree: a clause
that is surely a problem wins over another clause's good news unless a later one settles it.
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from services.visit_reading.lexicon import CUES, words

CONFIDENT = 0.8
OK, PROBLEM = "ok", "problem"

_CUES: dict[str, str] = {}
for _kind, _words in CUES.items():
    for _word in _words:
        _CUES.setdefault(_word, _kind)
_MAX = max(len(w) for w in _CUES)
_PARTICLES = " 　了的啊呀呢吧嘛哦。，！!～~"
_REACH = 3  # ... and a bad word this far, past weak words between (不会有问题)
_GAP = 2  # a negator reaches the cue that starts at most this many characters after it
_NOT_YET = frozenset(words("还没 还没有 尚未 暂未 还未 仍未 至今没"))  # pending: a problem
_STRONG_NEG = frozenset(words("没 没有 未 尚未 还没 还没有 从没 从未 没能 未能 暂未 还未"))


def is_cue(word: str) -> bool:
    """Whether ``word`` (a check word) is itself a cue (停水, 辍学: bad news by themselves)."""
    return word in _CUES


@dataclass(frozen=True)
class Cue:
    kind: str
    word: str
    start: int

    @property
    def end(self) -> int:
        return self.start + len(self.word)


@dataclass(frozen=True)
class Evidence:
    status: str  # ok | problem
    strength: float
    resolves: bool = False  # settles an earlier problem (已修好)
    past: bool = False  # a problem of the past (以前漏雨)
    fallback: bool = False  # counts only when nothing else is said (住房安全, 有)
    absent: bool = False  # a negator with nothing after it (信贷：无, 医保没有)
    answers: bool = False  # a "no" answering the good word before it (住房安全：否)
    thin: bool = False  # 没 + a one-character verb (没落, 没去): sure only of a check named


@dataclass(frozen=True)
class Said:
    """What one clause says: its evidence in order, and whether it hedges."""

    evidence: tuple[Evidence, ...]
    hedged: bool


def scan(clause: str) -> list[Cue]:
    """The cues of ``clause``, longest first at each place, left to right."""
    cues: list[Cue] = []
    i = 0
    while i < len(clause):
        for n in range(min(_MAX, len(clause) - i), 0, -1):
            kind = _CUES.get(clause[i : i + n])
            if kind is not None:
                cues.append(Cue(kind, clause[i : i + n], i))
                i += n
                break
        else:
            i += 1
    return cues


_POLAR = frozenset(
    ("ok", "resolve", "bad", "weak_ok", "weaker_ok", "weak_bad", "name_ok", "verb", "present")
)
_BAD = frozenset(("bad", "weak_bad"))
_GOOD = frozenset(("ok", "name_ok"))
_ANSWER_NO = frozenset(("否", "不是", "无"))
_FLIP = {"ok": 0.95, "resolve": 0.95, "verb": 0.85, "name_ok": 0.9, "present": 0.9}
_FIRM_WEAK = frozenset(words("交 缴 报销 交着 在交"))  # 没交 is as sure as 没交了


def _flipped(cue: Cue) -> Evidence:
    if cue.kind in _BAD:
        return Evidence(OK, 0.95 if cue.kind == "bad" else 0.75, resolves=True)
    strength = _FLIP.get(cue.kind, 0.9 if cue.word in _FIRM_WEAK else 0.7)
    return Evidence(PROBLEM, strength)


def _dangling(neg: Cue, after_bad: bool, at_end: bool) -> Evidence:
    """A negator with no cue after it: 辍学：无 is good, 医保没有 bad; before words we do not
    know (房子没文题) or 不 alone, it says little."""
    if after_bad and neg.word not in _NOT_YET:
        return Evidence(OK, 0.9)
    if after_bad:  # 危房还没改, 裂缝还没有: the problem's fix is still pending
        return Evidence(PROBLEM, 0.85, absent=True)
    if (neg.word in _NOT_YET or neg.word in _STRONG_NEG) and at_end:
        return Evidence(PROBLEM, 0.85, absent=True)
    # 还没出院, 没去县里: a "not yet" of a word we do not know is no sure problem.
    return Evidence(PROBLEM, 0.6, absent=True)


_PLAIN: dict[str, tuple[str, float, bool]] = {  # kind -> status, strength, fallback
    "ok": (OK, 0.95, False),
    "resolve": (OK, 0.95, False),
    "bad": (PROBLEM, 0.95, False),
    "weak_bad": (PROBLEM, 0.7, False),
    "weak_ok": (OK, 0.85, True),
    "weaker_ok": (OK, 0.7, True),
    "name_ok": (OK, 0.9, True),
    "present": (OK, 0.85, True),
}


def _plain(cue: Cue, past: bool) -> Evidence | None:
    found = _PLAIN.get(cue.kind)
    if found is None:
        return None
    status, strength, fallback = found
    return Evidence(
        status,
        strength,
        resolves=cue.kind == "resolve",
        past=past and status == PROBLEM,
        fallback=fallback,
    )


def _inside(cue: Cue, spans: tuple[tuple[int, int], ...]) -> bool:
    return any(a <= cue.start and cue.end <= b for a, b in spans)


def _ends(clause: str, cue: Cue, masked: tuple[tuple[int, int], ...]) -> bool:
    """What ``cue`` negates is the check itself: nothing but particles after it (医保没有了),
    or the check's own word right after it (没有收入, 没有产业)."""
    return not clause[cue.end :].strip(_PARTICLES) or any(a == cue.end for a, _ in masked)


# 没有 + someone + 不/没 + verb + 的: "there is nobody who does not ..." -- the two cancel.
_NOBODY = re.compile(r"(?:没有|没)(.{0,8}?)(?:不|没)(.{1,4}?)的")


def _double_negation(clause: str, cues: list[Cue], i: int) -> int | None:
    """The index after the second negator when the negator at ``i`` opens 没有……不……的."""
    neg = cues[i]
    if neg.word not in ("没有", "没"):
        return None
    m = _NOBODY.match(clause, neg.start)
    if m is None or any(c.kind in _BAD for c in cues if m.start(1) <= c.start < m.end(1)):
        return None
    for k in range(i + 1, len(cues)):
        if cues[k].kind == "neg" and cues[k].start == m.end(1):
            return k + 1
    return None


# A potential complement after an unknown verb (卖不掉, 存不住水, 拿不出): it cannot be done,
# but of what the reader is not sure: asked, never recorded (and never flipped to good news,
# as 不掉 alone would be).
_COMPLEMENTS = frozenset("掉住动起出到着上下成")
_UNSURE_CANNOT = 0.7


def _potential(clause: str, cues: list[Cue], i: int) -> bool:
    neg = cues[i]
    if neg.word != "不" or neg.start == 0 or i + 1 >= len(cues):
        return False
    nxt, before = cues[i + 1], clause[neg.start - 1]
    if nxt.start != neg.end or len(nxt.word) != 1 or nxt.word not in _COMPLEMENTS:
        return False
    if i and cues[i - 1].end == neg.start:
        return False  # after a cue of its own (看不出, 交不起 are read elsewhere)
    return "\u4e00" <= before <= "\u9fff"


_SUBJECT = 6  # 没有适龄儿童辍学: "there is no one who ..." reaches past a short subject
_THERE_IS_NO = frozenset(words("没有 无 没 从没有 并没有"))


def _bad_past_subject(
    clause: str, cues: list[Cue], i: int, masked: tuple[tuple[int, int], ...]
) -> int | None:
    """``没有`` + a short subject of words the reader does not know + a bad word (没有适龄儿童
    辍学, 无一户漏雨): the negator is about the bad word. Not past a check's own word (没有医保卡
    看病难: lacking the card is the problem) nor past any cue or separator."""
    neg = cues[i]
    if neg.word not in _THERE_IS_NO or i + 1 >= len(cues):
        return None
    nxt = cues[i + 1]
    between = clause[neg.end : nxt.start]
    if nxt.kind != "bad" or not 0 < len(between) <= _SUBJECT:
        return None
    if any(neg.end <= a < nxt.start for a, _ in masked):
        return None
    if not all("\u4e00" <= ch <= "\u9fff" for ch in between):
        return None
    return i + 1


_AFTER_VERB = frozenset("了过着上下来去到好完掉齐够全") | frozenset(_PARTICLES)


def _runs_on(clause: str, cue: Cue) -> bool:
    """The one-character verb runs on into a character that is no complement (还没通知: 通知,
    not 通): maybe a longer word than the verb."""
    nxt = clause[cue.end : cue.end + 1]
    return bool(nxt) and nxt not in _AFTER_VERB and "\u4e00" <= nxt <= "\u9fff"


def _bad_within(cues: list[Cue], i: int) -> int | None:
    """The index of a plain bad word at most :data:`_REACH` characters after the negator at
    ``i``, with only weak words (有, 会) or none between them."""
    for k in range(i + 1, min(i + 4, len(cues))):
        if cues[k].start - cues[i].end > _REACH:
            return None
        if cues[k].kind == "bad":
            return k
        if cues[k].kind not in ("weak_ok", "weaker_ok", "verb"):
            return None
    return None


def _negated(
    clause: str, cues: list[Cue], i: int, masked: tuple[tuple[int, int], ...]
) -> tuple[list[Evidence], int]:
    """The negator at ``i`` and what it flips: the next cue, and a run of bad words after a
    flipped bad one (无失学辍学); or a dangling negator. Returns evidence and the next index."""
    neg, nxt = cues[i], cues[i + 1] if i + 1 < len(cues) else None
    if nxt is not None and nxt.kind == "neg" and nxt.start - neg.end <= 1:
        return [], i + 2  # 没有没参保的, 没有不交的: two negators cancel
    later = _double_negation(clause, cues, i)
    if later is not None:
        return [], later  # 没有有劳动力不干活的: nobody who does not work
    if _potential(clause, cues, i):
        return [Evidence(PROBLEM, _UNSURE_CANNOT)], i + 2  # 卖不掉, 存不住: cannot (of what?)
    k = _bad_within(cues, i)
    subject = k is None and (k := _bad_past_subject(clause, cues, i, masked)) is not None
    if k is not None:  # 不会有问题, 没出过问题: the negator reaches the bad word past weak ones
        nxt, i = cues[k], k - 1
    near = nxt is not None and (subject or nxt.start - neg.end <= _GAP)
    if nxt is not None and near and nxt.kind in _POLAR:
        first = _flipped(nxt)
        if (
            nxt.kind == "verb"
            and len(nxt.word) == 1
            and (neg.word not in _NOT_YET or _runs_on(clause, nxt))
        ):
            first = dataclasses.replace(first, thin=True)
        out, j = [first], i + 2
        while nxt.kind in _BAD and j < len(cues) and cues[j].kind in _BAD:
            if cues[j].start - cues[j - 1].end > 1:
                break
            out.append(_flipped(cues[j]))
            j += 1
        return out, j
    prev = cues[i - 1] if i else None
    near = prev is not None and neg.start - prev.end <= _GAP and _ends(clause, neg, ())
    if near and prev is not None and prev.kind in _GOOD and neg.word in _ANSWER_NO:
        return [Evidence(PROBLEM, 0.9, answers=True)], i + 1  # 住房安全：否
    after_bad = prev is not None and prev.kind in _BAD and neg.start - prev.end <= _GAP
    return [_dangling(neg, after_bad, _ends(clause, neg, masked))], i + 1


_POSITIVE = frozenset(("ok", "verb", "weak_ok", "present", "resolve"))
# 报销不了, 交不起, 办不下来: a verb with a potential complement that says it cannot be done.
_CANNOT = ("不了", "不起", "不上", "不下来", "不到", "不成", "不动")


def _cannot(clause: str, cue: Cue) -> bool:
    return cue.kind in _POSITIVE and clause.startswith(_CANNOT, cue.end)


def _relapse(cues: list[Cue], i: int, out: list[Evidence]) -> bool:
    """又 after a resolution in the clause, with no good news right after it: the fix did not
    hold (劝返后又跑出去打工了, 修好了又漏)."""
    if not any(e.resolves and e.status == OK for e in out):
        return False
    nxt = cues[i + 1] if i + 1 < len(cues) else None
    return nxt is None or nxt.kind not in ("ok", "resolve")


def read_clause(clause: str, masked: tuple[tuple[int, int], ...] = ()) -> Said:
    """The evidence one clause gives (negators applied, the past marked, contrast cut).
    One-character cues inside ``masked`` spans (the check's own words: 低 of 低保, 老 of
    养老金) are not read."""
    cues = [c for c in scan(clause) if len(c.word) > 1 or not _inside(c, masked)]
    out: list[Evidence] = []
    hedged = past = False
    i = 0
    while i < len(cues):
        cue = cues[i]
        if _cannot(clause, cue):
            out.append(Evidence(PROBLEM, 0.9))
            nxt = cues[i + 1] if i + 1 < len(cues) else None
            i += 2 if nxt is not None and nxt.kind == "neg" and nxt.start == cue.end else 1
            continue
        if cue.kind == "again":
            if _relapse(cues, i, out):
                out.append(Evidence(PROBLEM, 0.85))
            i += 1
            continue
        if cue.kind == "neg":
            found, i = _negated(clause, cues, i, masked)
            if (
                found
                and out
                and (found[0].answers or (found[0].status == OK and not found[0].resolves))
            ):
                out.pop()  # 辍学：无, 住房安全：否 -- the word before was only the question
            out.extend(found)
            continue
        if cue.kind == "hedge":
            hedged = True
        elif cue.kind == "past":
            past = past or not clause.startswith("比", cue.start - 1)  # 比去年少了: now, compared
        elif cue.kind == "contrast" and out and _later_says(cues[i + 1 :]):
            out = [e for e in out if e.fallback]
        else:
            plain = _plain_at(clause, cues, i, masked, past)
            if plain is not None:
                out.append(plain)
        i += 1
    return Said(tuple(out), hedged or bool(LATER.search(clause)))


def _plain_at(
    clause: str, cues: list[Cue], i: int, masked: tuple[tuple[int, int], ...], past: bool
) -> Evidence | None:
    """What the cue at ``i`` says by itself (no negator before it)."""
    cue = cues[i]
    if _done(clause, cue):
        return Evidence(OK, 0.85, fallback=True)  # 临时救助给了两千, 低保批了
    plain = _plain(cue, past)
    if plain is not None and _there_is_something(clause, cue, masked, cues, i):
        plain = dataclasses.replace(plain, strength=_UNSURE_CANNOT)
    return plain


# 等卖了猪再交: what will be done once something else happens is not yet said.
LATER = re.compile(r"等.{1,8}(?:再|才)")


def _there_is_something(
    clause: str, cue: Cue, masked: tuple[tuple[int, int], ...], cues: list[Cue], i: int
) -> bool:
    """``有`` + words the reader does not know (有滑坡的迹象, 有白蚁): there is something, good
    or bad -- not sure. ``有`` alone, before the check's own word (有残疾证) or a cue is plain."""
    if cue.word != "有" or cue.end >= len(clause):
        return False
    nxt = clause[cue.end]
    if nxt in _PARTICLES or not ("\u4e00" <= nxt <= "\u9fff"):
        return False
    if any(a == cue.end for a, _ in masked):
        return False
    return not (i + 1 < len(cues) and cues[i + 1].start == cue.end)


# A verb of the checks' own business done (给了, 批了, 发过): fine when nothing else is said.
# Not the verbs of going and doing (去了, 做了手术, 上了年纪), which say nothing of a check.
_NOT_DONE = frozenset(words("去 回 做 上 到 用 弄 搞 管 接 评 买 下来 安排 发现 收成"))


def _done(clause: str, cue: Cue) -> bool:
    return (
        cue.kind == "verb"
        and cue.word not in _NOT_DONE
        and clause.startswith(("了", "过"), cue.end)
    )


_NONE_IS_FINE = frozenset(("credit",))


def _later_says(cues: list[Cue]) -> bool:
    return any(c.kind in _POLAR or c.kind == "neg" for c in cues)


def judge(said: list[Said], key: str = "") -> tuple[str | None, float]:
    """(status, confidence) from the clauses of one check, in the order they were written.
    For credit, having none is fine (信贷：无, 没有贷款). Clauses that disagree: a clause that
    is surely a problem wins over another clause's good news (低保没有纳入，残疾证已办)
    unless a later one settles it (已修好)."""
    status, confidence = _together(said, key)
    if status is None or confidence >= CONFIDENT or _hedged(said):
        return status, confidence
    for i, one in enumerate(said):
        alone = _together([one], key)
        settled = any(e.resolves for later in said[i + 1 :] for e in later.evidence)
        if alone[0] == PROBLEM and alone[1] >= CONFIDENT and not settled:
            return PROBLEM, 0.85
    return status, confidence


def _together(said: list[Said], key: str) -> tuple[str | None, float]:
    evidence = [e for s in said for e in s.evidence]
    if key in _NONE_IS_FINE:
        evidence = [Evidence(OK, 0.9) if e.absent else e for e in evidence]
    firm = [e for e in evidence if not e.fallback]
    if not firm or all(e.past and e.status == PROBLEM for e in firm):
        firm = evidence  # 之前没活干，现在上班了: the past gives way to what is said now
    if not firm:
        return None, 0.0
    status, confidence = _weigh(firm)
    if _hedged(said):
        confidence = min(confidence, 0.6)
    return status, confidence


def _hedged(said: list[Said]) -> bool:
    """A hedge counts unless a later clause says it plainly (交了没？交了。)."""
    plain = [
        i for i, s in enumerate(said) if not s.hedged and any(not e.fallback for e in s.evidence)
    ]
    last_plain = plain[-1] if plain else -1
    return any(s.hedged for s in said[last_plain + 1 :]) or (
        last_plain < 0 and any(s.hedged for s in said)
    )


def _weigh(evidence: list[Evidence]) -> tuple[str | None, float]:
    oks = [e for e in evidence if e.status == OK]
    bads = [e for e in evidence if e.status == PROBLEM]
    if not bads:
        return OK, max(e.strength for e in oks)
    if not oks:
        if all(e.past for e in bads):
            return PROBLEM, 0.5
        return PROBLEM, max(e.strength for e in bads)
    weak_bad = max(e.strength for e in bads) < CONFIDENT
    if weak_bad and evidence[-1].status == OK and max(e.strength for e in oks) >= 0.9:
        return OK, CONFIDENT  # 旧是旧了，但结实: a plain word of good news outweighs a weak one
    last = evidence[-1]
    after = evidence[max(i for i, e in enumerate(evidence) if e.status == PROBLEM) + 1 :]
    if last.status == OK and (any(e.resolves for e in after) or all(e.past for e in bads)):
        return OK, min(0.9, max(e.strength for e in after))
    if last.status == PROBLEM and not last.past:
        return PROBLEM, min(0.85, last.strength)
    return (last.status, 0.5)
