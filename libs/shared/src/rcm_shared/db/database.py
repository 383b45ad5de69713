"""A service's database handle: engine, sessions, platform tables, and the transaction boundary."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from rcm_shared.config import ServiceSettings
from rcm_shared.db.engine import create_engine, session_factory
from rcm_shared.db.platform_tables import PlatformTables


class Database:
    def __init__(self, settings: ServiceSettings, metadata: MetaData, tables: PlatformTables) -> None:
        self.settings = settings
        self.metadata = metadata
        self.tables = tables
        self.engine: AsyncEngine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
        self.sessions: async_sessionmaker[AsyncSession] = session_factory(self.engine)
        self._after_commit: list[Callable[[], None]] = []

    def on_commit(self, callback: Callable[[], None]) -> None:
        """Run after each committed transaction (the relay's wake-up: publish now, not at the next poll)."""
        self._after_commit.append(callback)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self.sessions() as session, session.begin():
            yield session
        self.committed()

    def committed(self) -> None:
        """Tell the after-commit listeners that a transaction committed (for code that commits by itself)."""
        for callback in self._after_commit:
            callback()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()
