"""Group commit for the reply fast path: work items that arrive while a batch is being written
join the next batch, so under load many messages share one transaction (one BEGIN, one COMMIT,
one WAL flush); alone, an item is written at once. Each caller waits for its own result, and an
error reaches every caller of the failed batch, as if each had had a transaction of its own.
(The inbox's own group commit is bot.inbound.recorder.)"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")

BATCH = 200  # items written by one batch at most


class Batched(Generic[T, R]):
    """``write(items)`` runs one batch (one transaction) and returns a result per item."""

    def __init__(self, write: Callable[[list[T]], Awaitable[list[R]]], name: str) -> None:
        self.write = write
        self.name = name
        self._waiting: list[tuple[T, asyncio.Future[R]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: T) -> R:
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting(), name=self.name)
        return await future

    async def _write_waiting(self) -> None:
        while self._waiting:
            batch = self._waiting[:BATCH]
            del self._waiting[:BATCH]
            try:
                results = await self.write([item for item, _ in batch])
            except Exception as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)
