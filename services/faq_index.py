"""The FAQ index as a service: built once at start-up, rebuilt when the FAQ table changes.

The FAQ use cases (services.faq) call :meth:`FaqService.current` with their session before
each search; the running app holds one (``Services.faq``, handlers.context). That costs one
aggregate query (count, latest ``updated_at`` and the FAQ's write counter, storage.faq.version);
only when the fingerprint differs from the one the index was built from is the index rebuilt
(retired entries left out), in a thread. A change made by another process (the console,
``cunbot faq import``) is therefore picked up by the next question, and a change rolled back
is undone the same way.

A rebuild embeds only phrasings whose vector is neither in the process's memory nor in the
``faq_vectors`` table, and stores the new ones there (services.faq_embed explains why): a
restart, or a second process, embeds nothing it has seen before.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path

from services import faq_embed, faq_file
from services.faq_embed import Embedder
from services.faq_rank import FaqIndex, Result, embedded
from services.faq_search import Analyzer
from storage import faq as faq_store
from storage import faq_vectors
from storage.faq import FaqDTO
from storage.session import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)


class FaqService:
    def __init__(self, analyzer: Analyzer, embedder: Embedder) -> None:
        self.analyzer = analyzer
        self.embedder = embedder
        self.index: FaqIndex | None = None
        self._lock = asyncio.Lock()

    @classmethod
    async def start(
        cls,
        sessionmaker: async_sessionmaker,
        now: datetime,
        *,
        analyzer: Analyzer | None = None,
        embedder: Embedder | None = None,
        seed: Path | None = faq_file.SHIPPED,
    ) -> FaqService:
        """Load jieba and the sentence model off the event loop; if the FAQ table is empty,
        fill it from ``seed`` (the shipped FAQ); build the index."""
        if analyzer is None:
            analyzer = await asyncio.to_thread(Analyzer.shared)
        if embedder is None:
            embedder = await asyncio.to_thread(Embedder.shared)
        service = cls(analyzer, embedder)
        async with sessionmaker() as session, session.begin():
            if seed is not None and await faq_store.count(session) == 0:
                entries = await asyncio.to_thread(faq_file.read_file, seed)
                added = await faq_store.seed(session, entries, now)
                log.info("faq table was empty: loaded %d shipped entries", added)
            fresh = await service._recall(session, await faq_store.all_entries(session))
        # Phrasings with no stored vector (every one on a first start: seconds of CPU) are
        # embedded here, outside any transaction, so the model's work never holds SQLite's
        # write lock (messages and health checks wait on it); the build finds them in memory.
        if fresh:
            await asyncio.to_thread(embedder.phrasings, list(fresh.values()))
        async with sessionmaker() as session, session.begin():
            index = await service.current(session)
        log.info("faq index ready: %d entries", len(index))
        return service

    async def current(self, session: AsyncSession) -> FaqIndex:
        """The index for what ``session`` sees of the FAQ table, rebuilt if it changed."""
        fingerprint = await faq_store.version(session)
        index = self.index
        if index is not None and index.version == fingerprint:
            return index
        async with self._lock:
            index = self.index
            if index is None or index.version != fingerprint:
                entries = await faq_store.all_entries(session)
                fresh = await self._recall(session, entries)
                index = await asyncio.to_thread(
                    FaqIndex.build, entries, self.analyzer, self.embedder, version=fingerprint
                )
                await self._store(session, fresh)
                self.index = index
                log.info("faq index rebuilt: %d entries", len(entries))
            return index

    async def search(self, index: FaqIndex, text: str, county_id: int | None) -> Result:
        """Search in a thread: embedding the question is ~15 ms of CPU."""
        return await asyncio.to_thread(index.search, text, county_id)

    async def _recall(self, session: AsyncSession, entries: list[FaqDTO]) -> dict[str, str]:
        """Bring stored vectors of the entries' phrasings and answers into memory -> {key: text}
        of the texts without a stored vector (the build embeds those not in memory either, and
        :meth:`_store` stores them all: a vector remembered from a rolled-back transaction
        is stored by the next rebuild)."""
        wanted = {faq_embed.key(t): t for e in entries for t in embedded(e)}
        known = self.embedder.known(list(wanted))
        in_memory = [k for k in wanted if k in known]
        on_disk = await faq_vectors.stored(session, in_memory)
        loaded = await faq_vectors.get_many(session, [k for k in wanted if k not in known])
        vectors = {k: faq_embed.unpack(b) for k, b in loaded.items()}
        self.embedder.remember({k: v for k, v in vectors.items() if v is not None})
        have = on_disk | {k for k, v in vectors.items() if v is not None}
        return {k: t for k, t in wanted.items() if k not in have}

    async def _store(self, session: AsyncSession, fresh: dict[str, str]) -> None:
        if not fresh:
            return
        found = self.embedder.lookup(list(fresh))
        await faq_vectors.add_many(session, {k: faq_embed.pack(v) for k, v in found.items()})
        log.info("faq vectors stored: %d new phrasings", len(found))
