"""Answer, suggest or refuse: a small calibrated model over two rankers' scores.

For a question, the candidates are the entries the semantic ranker (cosine of e5 vectors) or
the lexical ranker (BM25 confidence) puts in its top :data:`POOL`. Each candidate is described
by :data:`FEATURES`, the same for every entry and every FAQ size:

    cos       its best cosine (over its phrasings) with the question
    cos_gap   that minus the best cosine of any other entry (> 0 only for the semantic top 1)
    lex       its lexical confidence, lex_gap the same gap on the lexical side
    both_top  1 when both rankers put it first (they agree)
    qlen      log(1 + characters of the normalized question): short questions are vaguer
    unseen    share of the question's words the FAQ has never seen (an out-of-domain hint)
    cover     idf-weighted share of the question's words found anywhere in the entry
    lacks     idf of the most telling question word the entry lacks (/ the highest idf): what
              was asked and is not there ("补助多少钱" against an entry without amounts)
    cos_two   the mean of its two best phrasing cosines (one lucky phrasing is weaker evidence
              than two that agree)
    cos_ans   the cosine of the question with its answer (a question often names what the
              answer says: "水量标准" ~ "每人每天不少于40升")

A logistic regression turns them into P(this candidate is the entry that answers the
question). Candidates are ranked by P; the first is answered outright when P >= ``answer``
and it leads the runner-up by ``margin`` while the runner-up stays under ``suggest`` (two
entries that both look right are asked about, not picked between), else the candidates with P >= ``suggest`` (at most three) are offered as buttons, and when
there are none the bot says it does not know (the question goes to county staff).

The weights and the thresholds come from ``bench/faq_eval.py --calibrate``: fitted on the dev
split only, with cross-validation grouped by FAQ entry (paraphrases of one entry never on both
sides) and negatives that include in-domain questions whose entry is held out of the index
("we don't have this") and out-of-domain questions. See README, "Policy FAQ".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

FEATURES = (
    "cos",
    "cos_gap",
    "lex",
    "lex_gap",
    "both_top",
    "qlen",
    "unseen",
    "cover",
    "lacks",
    "cos_two",
    "cos_ans",
)
POOL = 5  # candidates taken from the top of each ranker


@dataclass(frozen=True)
class Model:
    """Logistic regression on standardized features: P = sigmoid(w . (x - mean) / scale + b)."""

    weights: tuple[float, ...]
    bias: float
    mean: tuple[float, ...]
    scale: tuple[float, ...]
    answer: float  # P needed to answer outright ...
    suggest: float  # P needed to be offered as a suggestion (the floor of the menu)
    margin: float = 0.0  # ... and by this much over the runner-up (two look right: ask)

    def probability(self, features: np.ndarray) -> np.ndarray:
        z = (features - np.asarray(self.mean)) / np.asarray(self.scale)
        logit = z @ np.asarray(self.weights) + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(logit, -30, 30))))


def _top_two(values: np.ndarray) -> tuple[int, float, float]:
    """Index of the largest value, the largest and the second largest. With one entry there is
    no runner-up: the gap is taken as 0 (no evidence of a clear lead), never as a huge lead
    that would answer anything from a one-entry FAQ."""
    if len(values) == 1:
        return 0, float(values[0]), float(values[0])
    two = np.argpartition(-values, 1)[:2]
    first, second = (two[0], two[1]) if values[two[0]] >= values[two[1]] else (two[1], two[0])
    return int(first), float(values[first]), float(values[second])


def candidates(
    cos: np.ndarray,
    lex: np.ndarray,
    *,
    two: np.ndarray,
    ans: np.ndarray,
    qlen: int,
    unseen: float,
    coverage: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """(positions of the candidate entries, their feature rows) from the per-entry scores of
    the entries the asker may see (``two``, ``ans``: see FEATURES); ``coverage`` gives
    (cover, lacks) of positions. Empty
    arrays when there are none."""
    n = len(cos)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros((0, len(FEATURES)))
    k = min(POOL, n)
    pool = np.union1d(np.argpartition(-cos, k - 1)[:k], np.argpartition(-lex, k - 1)[:k])
    c_arg, c1, c2 = _top_two(cos)
    l_arg, l1, l2 = _top_two(lex)
    cos_other = np.where(pool == c_arg, c2, c1)
    lex_other = np.where(pool == l_arg, l2, l1)
    rows = np.column_stack(
        [
            cos[pool],
            cos[pool] - cos_other,
            lex[pool],
            lex[pool] - lex_other,
            ((pool == c_arg) & (pool == l_arg)).astype(np.float64),
            np.full(len(pool), np.log1p(qlen)),
            np.full(len(pool), unseen),
            coverage(pool),
            two[pool],
            ans[pool],
        ]
    )
    return pool, rows


# Fitted by `python bench/faq_eval.py --calibrate` on the dev split (see the module docstring).
CALIBRATED = Model(
    weights=(
        -0.5272,
        0.7143,
        0.2611,
        0.4270,
        0.2347,
        0.4308,
        0.9904,
        1.2235,
        0.3242,
        1.4252,
        0.8335,
    ),
    bias=-6.4600,
    mean=(0.8929, -0.0331, 0.0564, -0.0830, 0.0666, 2.5164, 0.2980, 0.1689, 0.8870, 0.8848, 0.8731),
    scale=(0.0305, 0.0361, 0.0766, 0.1254, 0.2494, 0.5960, 0.2933, 0.2171, 0.2026, 0.0281, 0.0245),
    answer=0.8,
    suggest=0.7,
    margin=0.0,
)
