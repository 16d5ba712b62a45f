"""What a free-text message most likely means, and how sure we are: pure text work, no I/O.

    read("今天去了唐勇家，吃水没问题", Situation(households=..., push=None))
    -> Reading(intent="visit_report", confidence=0.9, households=(唐勇,), why=(...))

Five intents: ``visit_report`` (names a household of the sender's village and talks about
checks), ``ack`` (收到 and its everyday forms, when a push waits for one), ``submission_text``
(a submission is open), ``policy_question`` and ``not_understood`` (greetings, thanks, a bare
name, command fragments, questions about anything but policy, a 收到 with nothing to answer).

Rules over a handful of features, in order, each adding a line to ``why`` (logged with the
message id), not a model: the data is a few hundred hand-labelled messages and a rule a
reviewer can read beats a few points of accuracy. The confidences are fixed per rule and
were set on the dev split of data/eval/intents.yaml (bench/intent_eval.py): the caller acts at
``ACT`` or above, asks one question with buttons between ``ASK`` and ``ACT`` (visit reports
and acknowledgements only), and otherwise treats the message as not understood, so nothing
unsure is ever forwarded to the county.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.text import simplified
from handlers import intent_words as W
from services.visit_reading import read_report
from storage.household_search import HouseholdName

ACT = 0.7  # act on a reading this sure
ASK = 0.45  # ask about a visit report or a receipt this sure (below: not understood)
MAX_TEXT = 500  # longer free text is read only this far (a visit report is shorter)
TERSE = 10  # a policy topic this short (folded characters) is a query: 低保渐退
SHORT_REPLY = 12  # a statement this short right after a push may answer it

VISIT, ACK, SUBMISSION, QUESTION, UNCLEAR = (
    "visit_report",
    "ack",
    "submission_text",
    "policy_question",
    "not_understood",
)

# Kept by fold(): letters, digits, CJK, and the two emoji that mean "OK".
_DROP = re.compile(r"[^0-9a-z\u3400-\u9fff👌👍-]+")


@dataclass(frozen=True)
class Situation:
    """What the router knows of the sender when the message comes."""

    households: Sequence[HouseholdName] = ()  # of the sender's village
    push: bool = False  # a recent push waits for a 收到
    submission_open: bool = False


@dataclass(frozen=True)
class Reading:
    intent: str
    confidence: float
    households: tuple[HouseholdName, ...] = ()  # named in the text (several: ambiguous)
    bare_name: bool = False  # the text is only a household's name (or code)
    small_talk: bool = False  # greeting, thanks, a receipt with nothing to answer
    reply_like: bool = False  # short enough to answer a push, if one waits
    why: tuple[str, ...] = field(default_factory=tuple)

    @property
    def sure(self) -> bool:
        return self.confidence >= ACT


def fold(text: str) -> str:
    """Simplified characters, lower case, no spaces, punctuation or emoji (but 👌 👍)."""
    return _DROP.sub("", simplified(text[:MAX_TEXT]).lower())


def is_receipt(folded: str) -> bool:
    """收到 / 好的 / 已阅 ... alone, or followed by a short thanks or promise."""
    if folded in W.ACK_WORDS:
        return True
    for filler in W.FILLERS:
        if folded.startswith(filler) and folded != filler:
            folded = folded[len(filler) :]
            break
    folded = W.ACK_PARTICLES.sub("", folded) or folded
    if folded in W.ACK_WORDS or (folded and set(folded) <= {"👌", "👍"}):
        return True
    strong = next((h for h in W.STRONG_HEADS if folded.startswith(h)), None)
    head = strong or next((h for h in W.WEAK_HEADS if folded.startswith(h)), None)
    if head is None:
        return False
    tail = folded[len(head) :]
    if tail in W.ACK_WORDS or tail in W.SMALL_TALK or not tail:
        return True
    if len(tail) > W.ACK_TAIL_MAX or W.QUESTION.search(tail):
        return False
    return strong is not None or bool(W.ACK_TAIL.search(tail))


def is_small_talk(folded: str) -> bool:
    if not folded or folded in W.SMALL_TALK or W.FRAGMENT.fullmatch(folded):
        return True
    return any(
        folded.startswith(w) and len(folded) - len(w) <= W.SMALL_TALK_TAIL_MAX
        for w in W.SMALL_TALK
        if len(w) >= 2
    )


def is_question(text: str) -> bool:
    return bool(W.QUESTION.search(simplified(text[:MAX_TEXT])))


def is_policy(text: str, question: bool = False) -> bool:
    plain = simplified(text[:MAX_TEXT])
    return bool(W.POLICY.search(plain) or (question and W.POLICY_IN_QUESTION.search(plain)))


def named(text: str, households: Sequence[HouseholdName]) -> tuple[list[HouseholdName], str]:
    """The households the text names and the text without that name: full head names and
    codes first; else a surname with a kinship word (唐家, 何婶, 罗大爷家), matching every
    household of that surname."""
    plain = simplified(text[:MAX_TEXT])
    low = plain.lower()
    exact = [h for h in households if h.code.lower() in low or h.head_name in plain]
    if exact:
        # 高明亮 also contains 高明: the longest name wins.
        longest = (
            max(len(h.head_name) for h in exact if h.head_name in plain)
            if any(h.head_name in plain for h in exact)
            else 0
        )
        found = [h for h in exact if h.code.lower() in low or len(h.head_name) == longest]
        rest = plain
        for h in found:
            rest = rest.replace(h.head_name, "")
            rest = re.sub(re.escape(h.code), "", rest, flags=re.I)
        return found, rest
    surnames = {h.head_name[0] for h in households if h.head_name}
    for m in re.finditer(r"老?([\u4e00-\u9fff])(" + "|".join(W.KIN) + ")家?", plain):
        if m.group(1) in surnames:
            found = [h for h in households if h.head_name.startswith(m.group(1))]
            return found, plain[: m.start()] + plain[m.end() :]
    return [], plain


def near_named(text: str, households: Sequence[HouseholdName]) -> list[HouseholdName]:
    """Households whose three-character head name the text has with one character wrong
    (王三汝 for 王三女, a voice-typing slip): never sure, so only ever asked about."""
    plain = simplified(text[:MAX_TEXT])
    windows = {plain[i : i + 3] for i in range(len(plain) - 2)}
    found = []
    for h in households:
        name = h.head_name
        if len(name) == 3 and any(
            sum(a != b for a, b in zip(w, name, strict=True)) == 1 and w[0] == name[0]
            for w in windows
        ):
            found.append(h)
    return found


def read(text: str, situation: Situation) -> Reading:
    """The most likely intent of ``text`` and how sure (see the module docstring)."""
    folded = fold(text)
    if situation.submission_open:
        return _in_submission(text, folded)
    if is_receipt(folded):
        if situation.push:
            return Reading(ACK, 0.95, why=("receipt words", "a push waits for 收到"))
        return Reading(UNCLEAR, 0.9, small_talk=True, why=("receipt words", "nothing to ack"))
    if is_small_talk(folded):
        return Reading(UNCLEAR, 0.9, small_talk=True, why=("small talk or fragment",))
    question = is_question(text)
    policy = is_policy(text, question)
    if question and policy:
        return Reading(QUESTION, 0.9, why=("question form", "policy words"))
    found, rest = named(text, situation.households)
    if found:
        return _about_household(text, found, rest, question)
    near = near_named(text, situation.households) if not question else []
    if near and read_report(text).mentions_checks > 0:
        why = ("a household's name with one character wrong", "talks about checks")
        return Reading(VISIT, 0.55, tuple(near), why=why)
    return _about_nobody(text, folded, question, policy, situation)


def _about_nobody(
    text: str, folded: str, question: bool, policy: bool, situation: Situation
) -> Reading:
    """No household named: a report of checks without a name, a terse policy topic, a reply
    to a push, or nothing we know."""
    report = read_report(text)
    if report.checks and report.mentions_checks >= 0.5 and not question:
        return Reading(VISIT, 0.55, why=("says how checks stand", "names no household"))
    if policy:
        # 低保渐退, 残疾人两项补贴标准: a topic typed as a query. A longer statement with
        # policy words may be news, a complaint or a report: ask first.
        terse = len(folded) <= TERSE
        return Reading(QUESTION, 0.75 if terse else 0.6, why=("policy words", "no question form"))
    if question and len(folded) >= W.QUESTION_MIN and not W.APP.search(simplified(text)):
        return Reading(QUESTION, 0.5, why=("question form", "no policy words", "not about the app"))
    short = len(folded) <= SHORT_REPLY and not question
    if short and situation.push:
        return Reading(ACK, 0.5, why=("a short reply", "a push waits for 收到"))
    return Reading(UNCLEAR, 0.8, reply_like=short, why=("no household, no policy words",))


def _about_household(text: str, found: list[HouseholdName], rest: str, question: bool) -> Reading:
    households = tuple(found)
    ambiguous = len(found) > 1
    folded_rest = fold(rest)
    if not folded_rest or folded_rest in ("家", "的", "户", "家里"):
        return Reading(UNCLEAR, 0.9, households, bare_name=True, why=("only a household",))
    mentions = read_report(text).mentions_checks
    why = ["names a household", f"checks {mentions:.1f}"]
    if question:
        return Reading(UNCLEAR, 0.7, households, why=(*why, "a question, no policy words"))
    if mentions >= 0.5:
        confidence = 0.9
    elif mentions > 0:
        # A check word next to a household of one's own village: a report, and what acting
        # shows is the summary card, which is itself a question (确认 / 修改).
        confidence = 0.75
    elif W.VISIT_WORDS.search(rest):
        confidence = 0.6
    else:
        confidence = 0.5
    if ambiguous:
        why.append(f"{len(found)} households match")
        confidence = min(confidence, 0.6)
    return Reading(VISIT, confidence, households, why=tuple(why))


def _in_submission(text: str, folded: str) -> Reading:
    """A submission is open: its text, unless it is small talk or a policy question."""
    if is_receipt(folded) or is_small_talk(folded):
        return Reading(UNCLEAR, 0.9, small_talk=True, why=("submission open", "small talk"))
    if is_question(text) and is_policy(text, question=True):
        return Reading(QUESTION, 0.8, why=("submission open", "policy question"))
    return Reading(SUBMISSION, 0.95, why=("submission open",))
