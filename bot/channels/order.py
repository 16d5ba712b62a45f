"""Per-sender ordering inside one process: one lock per key, dropped when nobody needs it.

A person's messages are handled one at a time in arrival order; other people's go on in
parallel. Across processes a PostgreSQL advisory lock taken with the message's BEGIN does the
same (:mod:`storage.inbound_tx`). A key's lock lives while someone holds or waits for it,
so the map does not grow with the number of people who ever wrote, and a newcomer never
gets a fresh lock while an older message is still queued on the old one.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Hashable


class _Slot:
    __slots__ = ("lock", "users")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.users = 0  # holding or waiting


class KeyedLocks:
    def __init__(self) -> None:
        self._slots: dict[Hashable, _Slot] = {}

    @contextlib.asynccontextmanager
    async def hold(self, key: Hashable) -> AsyncIterator[None]:
        """Wait for the earlier holders of ``key``, then hold it for the ``async with`` body."""
        slot = self._slots.get(key)
        if slot is None:
            slot = self._slots[key] = _Slot()
        slot.users += 1
        try:
            async with slot.lock:
                yield
        finally:
            slot.users -= 1
            if slot.users == 0:
                self._slots.pop(key, None)

    def __len__(self) -> int:
        return len(self._slots)
