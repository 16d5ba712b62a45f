"""Reading a visit report the way a careful clerk would: pure text in, a report out.

No database, no I/O, no event loop: a few hundred microseconds of string work per report, so
callers may use it inline. It is the one reader of visit reports: 走访 (handlers/visit_report.py),
修改, and free-text intent routing (a message that names a household and talks about checks).

API
---
    from services.visit_reading import read_report, Report, Reading, CONFIDENT

    r = read_report("王三女 饮水：正常；医保交了，房子有点裂缝 血压160/100")
    r.query            -> "王三女"      household named first ("" if none; "唐勇家" -> "唐勇")
    r.note             -> "饮水：正常；医保交了，房子有点裂缝 血压160/100"
                          the text after the household EXACTLY as written (never rewritten);
                          the whole text when other words came before the name
                          (今天去了唐勇家，吃水没问题 -> query 唐勇, note the whole message)
    r.readings         -> {key: Reading} for every check the text talks about, keys of
                          core.checklist.CHECKS in display order
    r.readings["housing"] -> Reading(key="housing", status="problem", confidence=0.6,
                          text="房子有点裂缝")   status ok | problem | None (named, says neither)
    r.checks           -> {key: Item(status, text)}: only CONFIDENT readings (>= 0.8); what
                          may be recorded and may open a rectification
    r.unclear          -> ("housing",): talked about but not confident: ASK, never guess
    r.unread           -> clauses that speak of no check (kept in the note anyway)
    r.mentions_checks  -> 0..1, how much the text reports on checks: 0 for a policy question
                          (医保报销比例是多少), about 0.6 for one plain check (饮水正常),
                          1.0 for two or more (吃水没问题，医保交了). >= 0.5: it talks about checks.
    r.checklist()      -> {key: {"status", "text"}} of r.checks, the stored shape

``handlers.visit_parse.parse_report`` is this function (kept for existing callers).

How it reads
------------
1. The household: the first piece before a space or punctuation when it names no check
   (``王三女``, ``HH0012``, ``唐勇家``), or the characters before the first check word of a
   glued piece (``王三女饮水正常``).
2. Clauses (clauses.py): cut at punctuation and spaces of the original text (never at ``/``
   or ``：``), and again where a glued clause turns to another check; each keeps its place, so
   the words shown and stored are the user's. Traditional characters and typos are folded only
   for reading (lexicon.py).
3. The check of a clause: its first strong word (医保, 屋顶, 辍学 ...); weak words (孩子,
   生活) count only when the clause also says something. A short clause of no check right
   after one speaks of it (``房子漏雨，已修好``); a bare list takes the verdict that ends it
   (``饮水、住房都正常``).
4. What it says (cues.py): good and bad words, negators that flip the next cue (不漏, 没交),
   resolutions that settle an earlier problem (危房改造过, 已劝返), hedges that make nothing
   sure (有点, 好像, 吗), contrasts after which the rest decides (但是).
"""

from __future__ import annotations

from services.visit_reading.reader import CONFIDENT, Item, Reading, Report, read_report

__all__ = ["CONFIDENT", "Item", "Reading", "Report", "read_report"]
