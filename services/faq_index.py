"""The FAQ index as a service: built once at start-up, rebuilt when the FAQ table changes.

The FAQ use cases (services.faq) call :meth:`FaqService.current` with their session before
each search; the running app holds one (``Services.faq``, handlers.context). That costs one aggregate query (count and latest ``updated_at``);
only when the fingerprint differs from the one the index was built from is the index rebuilt,
in a thread. A change made by another process (``cunbot faq import``) is therefore picked up
by the next question, and a change rolled back is undone the same way.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from pathlib import Path

from services import faq_file
from services.faq_search import Analyzer, FaqIndex, Thresholds
from storage import faq as faq_store
from storage.session import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)


class FaqService:
    def __init__(self, analyzer: Analyzer, thresholds: Thresholds | None = None) -> None:
        self.analyzer = analyzer
        self.thresholds = thresholds or Thresholds()
        self.index: FaqIndex | None = None
        self._lock = asyncio.Lock()

    @classmethod
    async def start(
        cls,
        sessionmaker: async_sessionmaker,
        now: datetime,
        *,
        analyzer: Analyzer | None = None,
        seed: Path | None = faq_file.SHIPPED,
    ) -> FaqService:
        """Load jieba off the event loop; if the FAQ table is empty, fill it from ``seed``
        (the shipped FAQ); build the index."""
        if analyzer is None:
            analyzer = await asyncio.to_thread(Analyzer.shared)
        service = cls(analyzer)
        async with sessionmaker() as session, session.begin():
            if seed is not None and await faq_store.count(session) == 0:
                entries = await asyncio.to_thread(faq_file.read_file, seed)
                added = await faq_store.seed(session, entries, now)
                log.info("faq table was empty: loaded %d shipped entries", added)
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
                index = await asyncio.to_thread(
                    FaqIndex.build, entries, self.analyzer, self.thresholds, fingerprint
                )
                self.index = index
                log.info("faq index rebuilt: %d entries", len(entries))
            return index
