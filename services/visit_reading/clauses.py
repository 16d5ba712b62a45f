"""Cutting a report into clauses that each talk about one check, keeping the user's text.

Clauses are cut at punctuation and spaces of the ORIGINAL text (never at ``/`` or ``：``, so
``血压160/100`` and ``饮水：正常`` stay whole), and a glued clause is cut again where a word
of another check begins (``饮水正常医保已交`` -> ``饮水正常`` + ``医保已交``). Every clause
keeps its place in the original, so what is shown and stored is the user's own text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.text import simplified
from services.visit_reading.cues import LATER, is_cue
from services.visit_reading.lexicon import NOT_A_CHECK, STRONG, TYPOS, WEAK

_SEP = re.compile(r"[\s,，。;；、！!\n|]+")
_QUESTION_MARK = re.compile(r"[？?]+")
_MAX_TYPO = max(len(w) for w in TYPOS)
# word -> (check or None, strong); NOT_A_CHECK words shadow the checks they contain.
_WORDS: dict[str, tuple[str | None, bool]] = {}
for _key, _kws in STRONG.items():
    for _kw in _kws:
        _WORDS.setdefault(_kw, (_key, True))
for _key, _kws in WEAK.items():
    for _kw in _kws:
        _WORDS.setdefault(_kw, (_key, False))
for _kw in NOT_A_CHECK:
    _WORDS[_kw] = (None, False)
_MAX_WORD = max(len(w) for w in _WORDS)


@dataclass(frozen=True)
class Clause:
    start: int  # offsets in the original text
    end: int
    text: str  # the original characters
    norm: str  # simplified, typos fixed (what is read)
    key: str | None  # the check it talks about
    masked: tuple[tuple[int, int], ...]  # spans of check words that are not cues (低保)
    strong: bool  # named by a strong word (not only 孩子, 生活)
    sep: str  # the original characters between the previous clause and this one


def normalize(text: str) -> str:
    """Simplified characters, typos corrected, full-width spaces folded, Latin lower-cased."""
    out = simplified(text.replace("\u3000", " ")).lower()
    for wrong, right in TYPOS.items():
        if wrong in out:
            out = out.replace(wrong, right)
    return out


def hits(norm: str) -> list[tuple[int, str, str, bool]]:
    """(position, word, check, strong) of every check word, longest first, left to right."""
    found: list[tuple[int, str, str, bool]] = []
    i = 0
    while i < len(norm):
        for n in range(min(_MAX_WORD, len(norm) - i), 0, -1):
            entry = _WORDS.get(norm[i : i + n])
            if entry is not None:
                key, strong = entry
                if key is not None:
                    found.append((i, norm[i : i + n], key, strong))
                i += n
                break
        else:
            i += 1
    return found


def check_of(norm: str) -> tuple[str | None, bool]:
    """The check a clause talks about: its first strong word's, else its first weak word's."""
    found = hits(norm)
    strong = [h for h in found if h[3]]
    if strong:
        return strong[0][2], True
    return (found[0][2], False) if found else (None, False)


def _masks(norm: str) -> tuple[tuple[int, int], ...]:
    """Spans of check words that say nothing themselves (低保 has 低, 养老金 has 老)."""
    return tuple(
        (pos, pos + len(word))
        for pos, word, _key, strong in hits(norm)
        if strong and not is_cue(word)
    )


def _cuts(norm: str) -> list[int]:
    """Where a glued clause starts talking about another check (positions in ``norm``)."""
    cuts: list[int] = []
    current: str | None = None
    for pos, word, key, strong in hits(norm):
        turn = norm[:pos].endswith(_TURNS)
        if not strong or (len(word) == 1 and current is not None and not turn):
            continue  # 屋顶漏水: one character (水, 房, 牛) does not cut (就是水不方便 does)
        if norm[:pos].endswith(_BECAUSE):
            continue  # 低保因收入超标被取消: the check after 因 is the cause, not a new topic
        if current is not None and key != current and pos > 0:
            cuts.append(pos)
        current = key
    return cuts


_TURNS = ("就是", "但是", "可是", "不过", "只是")
_BECAUSE = ("因", "因为", "由于")


def pieces(text: str) -> list[tuple[int, int, str]]:
    """(start, end, separator before) of the punctuation-cut pieces of ``text``."""
    out: list[tuple[int, int, str]] = []
    last = 0
    for m in _SEP.finditer(text):
        if m.start() > last:
            out.append((last, m.start(), ""))
        last = m.end()
    if last < len(text):
        out.append((last, len(text), ""))
    out = [part for a, b, _ in out for part in _after_questions(text, a, b)]
    fixed = []
    for i, (start, end, _) in enumerate(out):
        sep = text[out[i - 1][1] : start] if i else ""
        fixed.append((start, end, sep))
    return fixed


def _after_questions(text: str, a: int, b: int) -> list[tuple[int, int, str]]:
    """``交了没？交了`` -> ``交了没？`` + ``交了``: a question ends its clause and keeps its mark."""
    out: list[tuple[int, int, str]] = []
    for m in _QUESTION_MARK.finditer(text, a, b):
        if m.end() < b:
            out.append((a, m.end(), ""))
            a = m.end()
    out.append((a, b, ""))
    return out


def split(text: str, start: int = 0) -> list[Clause]:
    """The clauses of ``text[start:]``, each cut again where it turns to another check."""
    clauses: list[Clause] = []
    for a, b, sep in pieces(text[start:]):
        a, b = a + start, b + start
        original = text[a:b]
        norm = normalize(original)
        # 医保等发了工资再交: a condition (等 ... 再) belongs to the clause it conditions.
        whole = len(norm) != len(original) or LATER.search(norm) is not None
        cuts = [] if whole else _cuts(norm)
        bounds = [0, *cuts, len(original)]
        for j in range(len(bounds) - 1):
            x, y = bounds[j], bounds[j + 1]
            part = norm[x:y]
            key, strong = check_of(part)
            clauses.append(
                Clause(
                    a + x,
                    a + y,
                    original[x:y],
                    part,
                    key,
                    _masks(part),
                    strong,
                    sep if j == 0 else "",
                )
            )
    return clauses
