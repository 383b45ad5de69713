"""Control-number sequences on real PostgreSQL: concurrent first users get distinct numbers, no error."""

from __future__ import annotations

import asyncio

import pytest
from rcm_shared.db.engine import create_engine, session_factory
from rcm_shared.db.sequences import control_number_table, next_control_number
from rcm_shared.db.types import service_metadata

pytestmark = pytest.mark.integration


async def test_concurrent_first_use_yields_distinct_numbers(databases) -> None:  # type: ignore[no-untyped-def]
    metadata = service_metadata()
    table = control_number_table(metadata)
    engine = create_engine(databases.create("seq"))
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    sessions = session_factory(engine)

    async def take() -> int:
        async with sessions() as session, session.begin():
            return await next_control_number(session, table, "interchange")

    try:
        numbers = await asyncio.gather(*(take() for _ in range(8)))
        assert sorted(numbers) == list(range(1, 9))
    finally:
        await engine.dispose()
