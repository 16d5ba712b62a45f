"""The FAQ index: two rankers and a calibrated decision. No database, no transport.

    index = FaqIndex.build(entries, Analyzer.shared(), Embedder.shared())   # blocking: a thread
    result = index.search("过渡期啥时候结束", county_id=7)   # blocking (~15 ms): a thread
    result.decision  # "answer" | "suggest" | "unknown"; result.hits best first

Semantic ranker: every phrasing of an entry (question and variants) and its answer are
embedded once (services.faq_embed); an entry scores as the best cosine of its phrasings with the
question, and the decision also sees the mean of its two best and the cosine with its answer.
It understands paraphrase ("娃不念书了咋办" ~ "辍学怎么劝返") but scores in-domain and
out-of-domain questions alike. Lexical ranker (services.faq_search): BM25 over words and
bigrams, normalized by the question's own information mass, which knows when words are
missing. services.faq_decide turns both into P(right entry) per candidate and decides.

Scope: an entry with a ``county_id`` (a county's own answer, saved with 存为问答) is seen only
by askers of that county; entries without one (the shipped, national and provincial FAQ) by
everyone. The filter is applied before ranking, so another county's entry is never a
candidate, a suggestion or a runner-up that changes a margin.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from services.faq_decide import CALIBRATED, Model, candidates
from services.faq_embed import Embedder
from services.faq_search import Analyzer, Entry, Lexical, normalize, normalize_entry_text

MENU = 3  # suggestions offered at most

Decision = Literal["answer", "suggest", "unknown"]


@dataclass(frozen=True)
class Hit:
    faq_id: str
    question: str
    score: float  # P(this entry answers the question)


@dataclass(frozen=True)
class Result:
    decision: Decision
    hits: tuple[Hit, ...]  # "answer": the answer first; "suggest": the menu; "unknown": ()
    score: float = 0.0  # P of the best candidate (recorded with the question, even refused)

    @property
    def best(self) -> Hit | None:
        return self.hits[0] if self.hits else None


@dataclass(frozen=True)
class Scores:
    """A question against every entry: cosine, lexical confidence; and of the question: the
    share of unseen words, its normalized length, its words."""

    cos: np.ndarray
    lex: np.ndarray
    unseen: float
    qlen: int
    words: tuple[str, ...]
    two: np.ndarray  # mean of the two best cosines of an entry's phrasings (one: its cosine)
    ans: np.ndarray  # cosine with the entry's answer


@dataclass(frozen=True)
class Ranked:
    """Every candidate of a question, best first, with its features (for the benchmark)."""

    ids: tuple[str, ...]
    probability: np.ndarray
    features: np.ndarray


def phrasings(entry: Entry) -> list[str]:
    """The normalized questions of an entry that are embedded (question and variants, once each)."""
    texts = (normalize_entry_text(t) for t in (entry.question, *entry.variants))
    return [*dict.fromkeys(t for t in texts if t)] or [entry.question]


def answer_text(entry: Entry) -> str:
    """The normalized answer of an entry, as embedded."""
    return normalize_entry_text(entry.answer) or entry.answer


def embedded(entry: Entry) -> list[str]:
    """Every text of an entry that has a vector: its phrasings, then its answer."""
    return [*phrasings(entry), answer_text(entry)]


def _dot(matrix: np.ndarray, vector: np.ndarray) -> np.ndarray:
    """``matrix @ vector`` in numpy's own loop, on the calling thread. The ``@`` operator goes
    to OpenBLAS, which splits a product of a few thousand rows over its worker threads; on two
    cores shared with the model, the database and the event loop those threads wait for each
    other (bench/faq_eval.py, 5,088 phrasings: CPU p99 10 ms and wall p99 145 ms for the
    product, against 0.6 ms and 24 ms this way, at load 12)."""
    return np.einsum("ij,j->i", matrix, vector)


def _second_best(sims: np.ndarray, starts: np.ndarray, best: np.ndarray) -> np.ndarray:
    """Per segment of ``sims`` (from ``starts``), the second largest value (the largest again
    for a segment of one, or when the largest occurs twice)."""
    lengths = np.diff(np.append(starts, len(sims)))
    top = sims == np.repeat(best, lengths)
    rest = np.maximum.reduceat(np.where(top, -np.inf, sims), starts)
    ties = np.add.reduceat(top.astype(np.int64), starts) > 1
    return np.where(ties | ~np.isfinite(rest), best, rest)


class FaqIndex:
    def __init__(
        self,
        entries: dict[str, Entry],
        analyzer: Analyzer,
        embedder: Embedder,
        lexical: Lexical,
        vectors: np.ndarray,
        starts: np.ndarray,
        answers: np.ndarray,
        scopes: np.ndarray,
        model: Model,
        version: object,
    ) -> None:
        self.entries = entries
        self.analyzer = analyzer
        self.embedder = embedder
        self.lexical = lexical
        self.model = model
        self.version = version
        self._order = list(entries)
        self._vectors = vectors
        self._starts = starts
        self._answers = answers
        self._scopes = scopes

    @classmethod
    def build(
        cls,
        entries: Iterable[Entry],
        analyzer: Analyzer,
        embedder: Embedder,
        *,
        model: Model = CALIBRATED,
        version: object = None,
    ) -> FaqIndex:
        """Blocking (segmentation; embedding of phrasings not seen before): call it in a thread."""
        by_id = {e.id: e for e in entries}
        ordered = list(by_id.values())
        texts: list[str] = []
        starts: list[int] = []
        for entry in ordered:
            starts.append(len(texts))
            texts.extend(phrasings(entry))
        # One call, so phrasings and answers not seen before are embedded in shared batches.
        vectors = embedder.phrasings([*texts, *(answer_text(e) for e in ordered)])
        return cls(
            by_id,
            analyzer,
            embedder,
            Lexical.build(ordered, analyzer),
            vectors[: len(texts)],
            np.asarray(starts, dtype=np.int64),
            vectors[len(texts) :],
            np.asarray([e.county_id or 0 for e in ordered], dtype=np.int64),
            model,
            version,
        )

    def __len__(self) -> int:
        return len(self.entries)

    def texts(self) -> list[str]:
        """Every embedded text (what services.faq_index persists vectors for)."""
        return [t for e in self.entries.values() for t in embedded(e)]

    def visible(self, county_id: int | None) -> np.ndarray:
        """Mask of the entries an asker of ``county_id`` may be answered from."""
        return (self._scopes == 0) | (self._scopes == (county_id or -1))

    def scores(self, query: str) -> Scores:
        """Both rankers' scores of every entry (empty for an empty index or question)."""
        text = normalize(query)
        if not self._order or not text:
            empty = np.zeros(0)
            return Scores(empty, empty, 1.0, 0, (), empty, empty)
        lex, unseen, words = self.lexical.scores(text, normalized=True)
        vector = self.embedder.query(self.embedder.fit(text, "".join(words)))
        sims = _dot(self._vectors, vector)
        cos = np.maximum.reduceat(sims, self._starts)
        two = (cos + _second_best(sims, self._starts, cos)) / 2
        return Scores(cos, lex, unseen, len(text), words, two, _dot(self._answers, vector))

    def candidates(self, scores: Scores, seen: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(entry positions, feature rows) of the candidates among the entries ``seen``."""
        pool, rows = candidates(
            scores.cos[seen],
            scores.lex[seen],
            two=scores.two[seen],
            ans=scores.ans[seen],
            qlen=scores.qlen,
            unseen=scores.unseen,
            coverage=lambda pool: self.lexical.coverage(scores.words, seen[pool]),
        )
        return seen[pool], rows

    def ranked(self, query: str, county_id: int | None = None) -> Ranked:
        """The candidates of ``query`` among the entries visible to ``county_id``."""
        mask = self.visible(county_id)
        if not mask.any():
            return Ranked((), np.zeros(0), np.zeros((0, 0)))
        scores = self.scores(query)
        if not scores.qlen:
            return Ranked((), np.zeros(0), np.zeros((0, 0)))
        pool, rows = self.candidates(scores, np.flatnonzero(mask))
        p = self.model.probability(rows)
        order = np.argsort(-p, kind="stable")
        ids = tuple(self._order[pool[i]] for i in order)
        return Ranked(ids, p[order], rows[order])

    def search(self, query: str, county_id: int | None = None) -> Result:
        ranked = self.ranked(query, county_id)
        hits = [self._hit(fid, p) for fid, p in zip(ranked.ids, ranked.probability, strict=True)]
        top = hits[0].score if hits else 0.0
        second = hits[1].score if len(hits) > 1 else 0.0
        # Two entries that both pass the menu's floor are both plausible: ask, don't pick.
        clear = top - second >= self.model.margin and second < self.model.suggest
        if top >= self.model.answer and clear:
            return Result("answer", tuple(hits[:MENU]), top)
        menu = tuple(h for h in hits[:MENU] if h.score >= self.model.suggest)
        return Result("suggest" if menu else "unknown", menu, top)

    def _hit(self, faq_id: str, p: float) -> Hit:
        return Hit(faq_id, self.entries[faq_id].question, round(float(p), 4))
