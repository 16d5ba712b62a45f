"""The session types that code above storage names in its signatures.

Every layer takes the caller's session, but only storage may import SQLAlchemy (CONTRIBUTING.md,
"Layers"): services, handlers, tasks and bot import ``AsyncSession`` and ``Sessionmaker`` from
here instead, so the rule holds without hiding the real types.
"""

from __future__ import annotations

from typing import TypeAlias

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

Sessionmaker: TypeAlias = async_sessionmaker[AsyncSession]

__all__ = ["AsyncEngine", "AsyncSession", "Sessionmaker", "async_sessionmaker"]
