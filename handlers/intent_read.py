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

import dataclasses
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from core.text import simplified
from handlers import intent_words as W
from handlers.intent_names import named, near_named
from services.visit_reading import Report, read_report
from storage.household_search import HouseholdName

ACT = 0.7  # act on a reading this sure ...
MARGIN = 0.2  # ... and this far ahead of the most likely other intent (else ask)
ASK = 0.45  # ask about a visit report or a receipt this sure (below: not understood)
MAX_TEXT = 500  # longer free text is read only this far (a visit report is shorter)
TERSE = 10  # a policy topic this short (folded characters) is a query: 低保渐退
SHORT_REPLY = 12  # a statement this short right after a push may answer it
# A question in no policy words that the FAQ ranker finds this like one of its entries (P of
# its best) is asked about rather than called not understood. On dev such non-questions
# scored 0.00-0.05 and the one real question 0.36: one real example, so a low bar.
FAQ_LIKE = 0.2

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
    rival: float = 0.0  # how likely the most likely OTHER intent is (0: none in sight)
    # Not understood, but put as a question in no policy words: the caller asks the FAQ
    # ranker (FAQ_LIKE) before it answers with help.
    faq_check: bool = False

    @property
    def sure(self) -> bool:
        """Act: the reading is strong and clearly ahead of any other; else ask."""
        return self.confidence >= ACT and self.confidence - self.rival >= MARGIN


def plain(text: str) -> str:
    """The text as every rule reads it: simplified characters, bounded. (OpenCC is the
    costly part of reading, so a message is converted once.)"""
    return simplified(text[:MAX_TEXT])


def fold(text: str) -> str:
    """Simplified characters, lower case, no spaces, punctuation or emoji (but 👌 👍)."""
    return _fold(plain(text))


def _fold(simple: str) -> str:
    return _DROP.sub("", W.YES_HEAD.sub("好的", simple.lower()))


def is_receipt(folded: str) -> bool:
    """收到 / 好的 / 已阅 ... alone, or followed by a short thanks or promise."""
    if folded in W.ACK_WORDS:
        return True
    if folded.startswith("已经"):  # 已经转发了 = 已转发了
        folded = "已" + folded[2:]
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
    tail = tail[1:] if tail[:1] in ("我", "都", "已") and tail[1:] in W.ACK_WORDS else tail
    if tail in W.ACK_WORDS or tail in W.SMALL_TALK or not tail:
        return True
    if len(tail) > W.ACK_TAIL_MAX or W.QUESTION.search(tail):
        return False
    return strong is not None or bool(W.ACK_TAIL.search(tail))


def is_fragment(folded: str) -> bool:
    """Nothing left, only digits, or a word and a number (忽略 34): no sentence at all."""
    return not folded or bool(W.FRAGMENT.fullmatch(folded))


def is_small_talk(folded: str) -> bool:
    if folded in W.SMALL_TALK:
        return True
    return any(
        folded.startswith(w) and len(folded) - len(w) <= W.SMALL_TALK_TAIL_MAX
        for w in W.SMALL_TALK
        if len(w) >= 2
    )


def is_question(simple: str) -> bool:
    """Whether ``simple`` (the text as :func:`plain` returns it, also for the functions
    below) is put as a question: a question word (吗, 什么, 怎么, 能干几年), a request to know
    (想问一下) or a yes/no ending (有补贴不). Negated and indefinite uses of question words
    (没啥变化, 没什么困难, 这几天, 村里的几户都完工了, 能不能别) are no questions."""
    text = W.NOT_A_QUESTION.sub("，", simple)
    return bool(
        W.QUESTION.search(text) or W.REQUEST.search(text) or W.YES_NO_END.search(text.strip())
    )


def is_policy(simple: str, question: bool = False) -> bool:
    return bool(W.POLICY.search(simple) or (question and W.POLICY_IN_QUESTION.search(simple)))


def policy_strength(simple: str, question: bool) -> float:
    """How much the words are a policy question's: 1 for policy words of their own (低保,
    危房), 0.5 when the only ones are the cadres' work words (走访, 台账) or words that only
    count in a question (享受, 上学), 0 for none."""
    found = [m.group() for m in W.POLICY.finditer(simple)]
    if any(not W.WORK.fullmatch(word) for word in found):
        return 1.0
    if found or (question and W.POLICY_IN_QUESTION.search(simple)):
        return 0.5
    return 0.0


def _coverage(folded: str) -> float:
    """The share of the folded text that is policy words (危房改造: 1; 今天下村走访了6户: 0.2)."""
    covered = sum(len(m.group()) for m in W.POLICY.finditer(folded))
    return covered / len(folded) if folded else 0.0


def read(text: str, situation: Situation) -> Reading:
    """The most likely intent of ``text``, how sure, and how close the next most likely
    intent comes (see the module docstring): a reading that would be acted on is checked
    against its rivals, so a message that could be two things is asked about."""
    reading = _read(text, situation)
    if reading.intent not in (VISIT, ACK, QUESTION) or reading.confidence < ACT:
        return reading
    rival, name = _rival(text, situation, reading)
    if not rival:
        return reading
    why = (*reading.why, f"rival {name} {rival:.2f}")
    return dataclasses.replace(reading, rival=rival, why=why)


def _rival(text: str, situation: Situation, best: Reading) -> tuple[float, str]:
    """The likelihood of the most likely intent other than ``best``'s, scored on its own
    evidence: a household named with checks (a visit report), a question in policy words,
    a short reply while a push waits."""
    simple = plain(text)
    question = is_question(simple)
    scores: dict[str, float] = {}
    if best.intent != QUESTION:
        strength = policy_strength(simple, question)
        scores[QUESTION] = (0.8 if question else 0.4) * strength if strength else 0.0
    if best.intent != VISIT and situation.households:
        found, _rest = named(simple, situation.households)
        if found:
            mentions = min(1.0, read_report(text, _names(situation)).mentions_checks)
            scores[VISIT] = (0.3 if question else 0.5) + 0.4 * mentions
    if best.intent != ACK and situation.push and best.reply_like:
        scores[ACK] = 0.5
    if not scores:
        return 0.0, ""
    name = max(scores, key=lambda k: scores[k])
    return scores[name], name


def _read(text: str, situation: Situation) -> Reading:
    simple = plain(text)
    folded = _fold(simple)
    if situation.submission_open:
        return _in_submission(simple, folded)
    if is_receipt(folded):
        if situation.push:
            return Reading(ACK, 0.95, why=("receipt words", "a push waits for 收到"))
        return Reading(UNCLEAR, 0.9, small_talk=True, why=("receipt words", "nothing to ack"))
    if is_small_talk(folded):
        return Reading(UNCLEAR, 0.9, small_talk=True, why=("small talk",))
    if is_fragment(folded):
        return Reading(UNCLEAR, 0.9, why=("a fragment",))
    question = is_question(simple)
    policy = is_policy(simple, question)
    if question and policy:
        if policy_strength(simple, question) < 1:
            # 这个月走访了多少户: the only policy words are the work's own: ask first.
            return Reading(QUESTION, 0.6, why=("question form", "only work words"))
        if W.APP_TOPIC.search(simple):
            # 低保户的照片怎么上传: policy words in a question about the app: ask first.
            return Reading(QUESTION, 0.6, why=("question form", "policy words", "app words"))
        return Reading(QUESTION, 0.9, why=("question form", "policy words"))
    found, rest = named(simple, situation.households)
    if found:
        return _about_household(text, found, rest, question, _names(situation))
    report = read_report(text, _names(situation))
    talks = report.mentions_checks > 0 and not question
    near = near_named(simple, situation.households) if talks else []
    if near:
        why = ("a household's name with one character wrong", "talks about checks")
        return Reading(VISIT, 0.55, tuple(near), why=why)
    return _about_nobody(report, simple, question, policy, situation)


def _about_nobody(
    report: Report, simple: str, question: bool, policy: bool, situation: Situation
) -> Reading:
    """No household named: a report of checks without a name, a terse policy topic, a reply
    to a push, or nothing we know."""
    folded = _fold(simple)
    # 低保渐退, 医保缴费标准: a topic typed as a query is mostly policy words (今天下村走访了
    # 6户 is news). A longer statement with policy words may be news, a complaint or a
    # report: ask first.
    terse = policy and len(folded) <= TERSE and _coverage(folded) >= 0.5
    if report.checks and report.mentions_checks >= 0.5 and not question and not terse:
        return Reading(VISIT, 0.55, why=("says how checks stand", "names no household"))
    short = len(folded) <= SHORT_REPLY and not question
    if policy and not terse and not question and W.NEWS.search(simple.strip()):
        # 今天全村低保都发下来了: policy words in news, no question. Right after a push a
        # short one may answer it (ask); otherwise it is not for the county.
        news = ("policy words", "a statement of news")
        if short and situation.push:
            return Reading(ACK, 0.5, why=(*news, "a push waits for 收到"))
        return Reading(UNCLEAR, 0.7, reply_like=short, why=news)
    if policy:
        return Reading(QUESTION, 0.75 if terse else 0.6, why=("policy words", "no question form"))
    if question and len(folded) >= W.QUESTION_MIN and not W.APP.search(simple):
        return Reading(QUESTION, 0.5, why=("question form", "no policy words", "not about app"))
    if short and situation.push:
        return Reading(ACK, 0.5, why=("a short reply", "a push waits for 收到"))
    why = ("no household, no policy words",)
    return Reading(UNCLEAR, 0.8, reply_like=short, why=why, faq_check=question)


def _names(situation: Situation) -> tuple[str, ...]:
    return tuple(h.head_name for h in situation.households)


def _about_household(
    text: str, found: list[HouseholdName], rest: str, question: bool, names: tuple[str, ...]
) -> Reading:
    households = tuple(found)
    ambiguous = len(found) > 1
    folded_rest = _fold(rest)
    if not folded_rest or folded_rest in ("家", "的", "户", "家里"):
        return Reading(UNCLEAR, 0.9, households, bare_name=True, why=("only a household",))
    mentions = read_report(text, names).mentions_checks
    why = ["names a household", f"checks {mentions:.1f}"]
    if not mentions and W.PLAN.search(rest):
        # 明天去张秀梅家: a plan, not a report; the help offers 走访 <名>.
        return Reading(UNCLEAR, 0.8, households, bare_name=True, why=(*why, "a plan"))
    if question:
        why.append("a question, no policy words")
        return Reading(UNCLEAR, 0.7, households, why=tuple(why), faq_check=True)
    if mentions and W.PLAN_AHEAD.search(rest):
        # 明天去唐勇家看看房子漏雨的事: checks in a plan: a report only if the user says so.
        return Reading(VISIT, 0.6, households, why=(*why, "a plan"))
    if mentions >= 0.5:
        confidence = 0.9
    elif mentions > 0:
        # A check word next to a household of one's own village: a report, and what acting
        # shows is the summary card, which is itself a question (确认 / 修改).
        confidence = 0.75
    elif W.VISIT_WORDS.search(rest):
        # 周大爷家去了，一切正常: a visit and a verdict on all of it is a report (its card
        # shows no check; the user fills them in or confirms).
        confidence = 0.75 if W.ALL_FINE.search(rest) else 0.6
    else:
        confidence = 0.5
    if ambiguous:
        why.append(f"{len(found)} households match")
        confidence = min(confidence, 0.6)
    return Reading(VISIT, confidence, households, why=tuple(why))


def _in_submission(simple: str, folded: str) -> Reading:
    """A submission is open: its text, unless it is small talk or a policy question."""
    receipt = is_receipt(folded) and not folded.startswith(W.DONE_HEADS)  # 已落实 is evidence
    if receipt or is_small_talk(folded) or is_fragment(folded):
        return Reading(UNCLEAR, 0.9, small_talk=True, why=("submission open", "small talk"))
    # Only a question in policy words of their own is set aside (走访照片要几张 is the task's).
    if is_question(simple) and policy_strength(simple, question=True) >= 1:
        return Reading(QUESTION, 0.8, why=("submission open", "policy question"))
    return Reading(SUBMISSION, 0.95, why=("submission open",))
