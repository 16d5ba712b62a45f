"""The lexical side of FAQ retrieval (the semantic side and the decision: services.faq_rank).
No database, no transport.

    analyzer = Analyzer.shared()                    # jieba + user dictionary: blocking, ~1 s
    lexical = Lexical.build(entries, analyzer)      # blocking, run it in a thread
    confidence, unseen = lexical.scores("请问低保渐退多长时间呢")   # per entry, in [0, 1]

Pipeline: normalize (NFKC full-width -> half-width, traditional -> simplified, punctuation and
fillers out) -> jieba words with a domain dictionary -> synonyms mapped to one canonical word
-> two BM25 indexes (bm25s): one over words, one over character bigrams of the canonical text,
so a typo or an unseen word still shares bigrams with the right entry. Each phrasing of an
entry is its own document, and so is its answer (weighted down); an entry scores as its best
document.

Raw BM25 scores grow with the length of the question, so they cannot be compared against a
fixed threshold. The confidence used here divides the best score by the query's own
information mass (the sum of the idf of its distinct tokens, with words the FAQ has never
seen counted at the highest idf): "how much of what was asked did the best entry match".
An out-of-domain question ("明天天气怎么样") is mostly unseen words, so its mass is large and
its confidence small, whatever it happens to share with some entry.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import bm25s
import jieba
import numpy as np

from core.paths import data_dir
from core.text import simplified

DATA_DIR = data_dir() / "faq"
USERDICT = DATA_DIR / "userdict.txt"
SYNONYMS = DATA_DIR / "synonyms.txt"
MEMO_SIZE = 50_000  # phrasing analyses remembered across index rebuilds
MAX_QUERY = 200  # characters looked at; a question longer than this is cut, not refused

# Politeness and filler removed before segmentation (longest first so 请问一下 goes whole).
FILLERS = sorted(
    (
        "请问一下",
        "请问",
        "问一下",
        "一下",
        "麻烦问下",
        "麻烦",
        "你好",
        "您好",
        "谢谢",
        "想问问",
        "想问",
        "问问",
        "请教",
        "我想知道",
        "想知道",
        "帮我查查",
        "帮我查",
        "查一下",
        "能不能告诉我",
        "告诉我",
        "老师",
        "领导",
    ),
    key=len,
    reverse=True,
)
# Words that carry no meaning for matching (after segmentation).
_STOPWORDS = (
    "的 了 是 吗 呢 啊 吧 呀 哦 嘛 哈 么 呗 啦 喔 嗯 在 和 与 及 或 也 都 就 还 又 要 会 能 "
    "可以 有 没 没有 我 我们 你 您 他 她 它 咱 咱们 俺 这 那 这个 那个 这些 那些 个 一个 "
    "啥 什么 怎么 怎样 怎么样 如何 哪 哪些 哪个 为什么 吗 么 得 地 着 过 给 让 把 被 对 "
    "里 上 下 中 时 时候 现在 一般 到底 具体 情况 问题 问 说 讲 知道 请 下 一 些 点 儿"
)
STOPWORDS = frozenset(_STOPWORDS.split())
_PUNCT = re.compile(r"[^\w.%]+|(?<!\d)\.|\.(?!\d)|_")


def normalize(text: str) -> str:
    """Full-width -> half-width, traditional -> simplified, lower case, fillers and
    punctuation replaced by spaces (a decimal point and % survive: "3.5米", "2%")."""
    text = unicodedata.normalize("NFKC", text[:MAX_QUERY]).lower()
    text = simplified(text)
    for filler in FILLERS:
        text = text.replace(filler, " ")
    return " ".join(_PUNCT.sub(" ", text).split())


# The texts of FAQ entries are normalized by the embedder's side (services.faq_rank: phrasings
# and answer), the lexical side and the vector store's recall (services.faq_index), at every
# rebuild: remember them (a quarter of a 1,000-entry rebuild was traditional -> simplified
# lookups of the same texts). Bounded; thread-safe. Questions go through :func:`normalize`.
normalize_entry_text = functools.lru_cache(maxsize=MEMO_SIZE)(normalize)


class Entry(Protocol):
    """What the index needs from an FAQ entry (storage.faq.FaqDTO has these)."""

    @property
    def id(self) -> str: ...
    @property
    def question(self) -> str: ...
    @property
    def variants(self) -> Sequence[str]: ...
    @property
    def answer(self) -> str: ...
    @property
    def source(self) -> str: ...
    @property
    def county_id(self) -> int | None: ...


class Analyzer:
    """Segmentation and synonyms. Loading jieba's dictionary takes about a second: build it
    in a thread (``asyncio.to_thread(Analyzer.shared)``), once per process."""

    _shared: Analyzer | None = None
    _shared_lock = threading.Lock()

    def __init__(self, tokenizer: jieba.Tokenizer, synonyms: dict[str, str]) -> None:
        self._tk = tokenizer
        self._syn = synonyms
        # Rebuilding the index (after 存为问答 or an import) re-reads every phrasing: remember
        # them so a rebuild only segments what is new. Bounded; thread-safe. Questions are
        # not remembered (they rarely repeat and would push the phrasings out).
        self.analyze_cached = functools.lru_cache(maxsize=MEMO_SIZE)(self._analyze_entry_text)

    @classmethod
    def shared(cls) -> Analyzer:
        """The process-wide analyzer over the shipped dictionary, loaded on first use (it is
        read-only afterwards, so every app and index in the process can share it)."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls.load()
            return cls._shared

    @classmethod
    def load(cls, userdict: Path = USERDICT, synonyms: Path = SYNONYMS) -> Analyzer:
        jieba.setLogLevel(logging.WARNING)
        tk = jieba.Tokenizer()
        tk.initialize()
        tk.load_userdict(str(userdict))
        mapping = read_synonyms(synonyms)
        for word in {*mapping, *mapping.values()}:
            if len(word) > 1:
                tk.add_word(word, freq=50)
        return cls(tk, mapping)

    def words(self, text: str) -> list[str]:
        """Canonical content words of already normalized text."""
        out: list[str] = []
        for chunk in text.split():
            for word in self._tk.lcut(chunk, HMM=True):
                if word in STOPWORDS or not word.strip():
                    continue
                out.append(self._syn.get(word, word))
        return out

    @staticmethod
    def bigrams(words: Sequence[str]) -> list[str]:
        joined = "".join(words)
        if len(joined) < 2:
            return [joined] if joined else []
        return [joined[i : i + 2] for i in range(len(joined) - 1)]

    def analyze(self, text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """(canonical words, character bigrams) of raw text."""
        return self.analyze_normalized(normalize(text))

    def _analyze_entry_text(self, text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        return self.analyze_normalized(normalize_entry_text(text))

    def analyze_normalized(self, text: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The same of text that has been through :func:`normalize` already."""
        words = self.words(text)
        return tuple(words), tuple(self.bigrams(words))


def read_synonyms(path: Path) -> dict[str, str]:
    """``canonical alt alt ...`` per line -> {alt: canonical}."""
    mapping: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        canonical, *alts = line.split()
        for alt in alts:
            mapping[alt] = canonical
    return mapping


WORD_WEIGHT = 0.5  # share of the word index in the confidence (bigrams: the rest)
ANSWER_DOC = 0.8  # an entry's answer text counts, but less than its phrasings


class _Field:
    """One BM25 index (words or bigrams) plus the idf table used to normalize its scores."""

    def __init__(self, docs: list[list[str]]) -> None:
        self.bm25 = bm25s.BM25()
        self.bm25.index(docs, show_progress=False)
        n = len(docs)
        df: dict[str, int] = {}
        for doc in docs:
            for token in set(doc):
                df[token] = df.get(token, 0) + 1
        # Same idf as bm25s' default (Lucene); an unseen token gets the df=0 value.
        self.idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        self.unseen_idf = math.log(1 + (n + 0.5) / 0.5)

    def confidence(self, tokens: Sequence[str]) -> np.ndarray | None:
        distinct = list(dict.fromkeys(tokens))
        if not distinct:
            return None
        mass = sum(self.idf.get(t, self.unseen_idf) for t in distinct)
        known = [t for t in distinct if t in self.idf]
        if not known:
            return None
        return self.bm25.get_scores(known) / mass


@dataclass(frozen=True)
class Lexical:
    """The lexical side of the FAQ index: per-entry confidence in [0, 1] from words and bigrams.

    Entries are numbered in the order given to :meth:`build`; an entry scores as its best
    document (each phrasing, and the answer with its tags, weighted down)."""

    analyzer: Analyzer
    words: _Field
    grams: _Field
    starts: np.ndarray
    is_answer: np.ndarray
    vocab: tuple[frozenset[str], ...]  # every word of each entry's documents

    @classmethod
    def build(cls, entries: Sequence[Entry], analyzer: Analyzer) -> Lexical:
        """Blocking (segmentation of every phrasing): call it in a thread."""
        word_docs: list[list[str]] = []
        gram_docs: list[list[str]] = []
        starts: list[int] = []
        is_answer: list[bool] = []
        vocab: list[frozenset[str]] = []
        for entry in entries:
            starts.append(len(word_docs))
            # The answer (with tags) is a document of its own: keyword questions ("水量 标准",
            # "简易戏台") often name what the answer says rather than how the question is put.
            texts = [*dict.fromkeys([entry.question, *entry.variants])]
            texts.append(" ".join([entry.answer, *getattr(entry, "tags", ())]))
            for n, text in enumerate(texts):
                w, g = analyzer.analyze_cached(text)
                word_docs.append(list(w))
                gram_docs.append(list(g))
                is_answer.append(n == len(texts) - 1)
            vocab.append(frozenset(w for doc in word_docs[starts[-1] :] for w in doc))
        return cls(
            analyzer,
            _Field(word_docs) if word_docs else _Field([[]]),
            _Field(gram_docs) if gram_docs else _Field([[]]),
            np.asarray(starts, dtype=np.int64),
            np.asarray(is_answer, dtype=bool),
            tuple(vocab),
        )

    def scores(
        self, query: str, *, normalized: bool = False
    ) -> tuple[np.ndarray, float, tuple[str, ...]]:
        """(confidence per entry, share of the question's words the FAQ has never seen, the
        question's words). The second is a hint of an out-of-domain question ("明天天气怎么样"
        is mostly unseen)."""
        n = len(self.starts)
        # The index has normalized the question already (normalizing costs a quarter of a
        # millisecond: traditional -> simplified is a phrase lookup).
        analyze = self.analyzer.analyze_normalized if normalized else self.analyzer.analyze
        words, grams = analyze(query)
        distinct = set(words)
        unseen = sum(w not in self.words.idf for w in distinct) / len(distinct) if distinct else 1.0
        if not n:
            return np.zeros(0), unseen, words
        w = self.words.confidence(words)
        g = self.grams.confidence(grams)
        if w is None and g is None:
            return np.zeros(n), unseen, words
        per_doc = (WORD_WEIGHT * w if w is not None else 0) + (
            (1 - WORD_WEIGHT) * g if g is not None else 0
        )
        per_doc = np.asarray(per_doc, dtype=np.float64)
        per_doc = np.where(self.is_answer, per_doc * ANSWER_DOC, per_doc)
        return np.maximum.reduceat(per_doc, self.starts), unseen, words

    def coverage(self, words: Sequence[str], positions: np.ndarray) -> np.ndarray:
        """Per entry at ``positions``: (idf-weighted share of the question's words found
        anywhere in the entry, the idf of the most telling word it lacks / the highest idf).
        "危房改造补助多少钱" against the renovation-methods entry: 补助 is missing, and says so."""
        distinct = list(dict.fromkeys(words))
        out = np.zeros((len(positions), 2))
        if not distinct:
            return out
        top = self.words.unseen_idf
        weights = np.array([self.words.idf.get(w, top) for w in distinct])
        total = weights.sum()
        for row, pos in enumerate(positions):
            have = np.array([w in self.vocab[pos] for w in distinct])
            out[row, 0] = weights[have].sum() / total
            out[row, 1] = weights[~have].max() / top if (~have).any() else 0.0
        return out
