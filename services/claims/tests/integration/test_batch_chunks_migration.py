"""The batch_chunks revision on real PostgreSQL with files in it: up, every stored 837P becomes its first piece;
down, the pieces of each batch join again, in order, into the one column (a batch without pieces gets an empty
file rather than failing the downgrade)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from claims.bootstrap import MIGRATIONS
from rcm_shared.db.migrations import alembic_config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

pytestmark = pytest.mark.integration

BEFORE, CHUNKS = "20261122_085046", "20261130_174239"
BATCH = ("INSERT INTO submission_batches (batch_id, practice_id, payer_id, interchange_control_number, file_name, "
         "{content_column}claim_count, status, attempts, created_at) VALUES (:id, 'practice-a', 'SBXHP', :icn, :name, "
         "{content_value}1, 'submitted', 1, now())")


async def _migrate(engine: AsyncEngine, config: Config, step: Callable[[Config, str], None], revision: str) -> None:
    def run(connection: Connection) -> None:
        config.attributes["connection"] = connection
        step(config, revision)

    async with engine.begin() as connection:
        await connection.run_sync(run)


async def _rows(engine: AsyncEngine, query: str) -> list[Any]:
    async with engine.connect() as connection:
        return [tuple(r) for r in (await connection.execute(sa.text(query))).all()]


async def test_batch_chunks_keeps_every_file_up_and_down(databases) -> None:  # type: ignore[no-untyped-def]
    url = databases.create("claims_chunks_migration")
    engine = create_async_engine(url)
    config = alembic_config(MIGRATIONS, url)
    try:
        await _migrate(engine, config, command.upgrade, BEFORE)
        async with engine.begin() as connection:
            for n, content in ((1, b"ISA*FIRST~IEA*1*000000001~"), (2, b"ISA*SECOND~")):
                await connection.execute(sa.text(BATCH.format(content_column="content, ", content_value=":c, ")), {
                    "id": f"batch-{n}", "icn": n, "name": f"837P_SBXHP_{n:09d}.x12", "c": content})

        await _migrate(engine, config, command.upgrade, CHUNKS)
        assert await _rows(engine, "SELECT batch_id, seq, content FROM submission_batch_chunks ORDER BY batch_id") == [
            ("batch-1", 0, b"ISA*FIRST~IEA*1*000000001~"), ("batch-2", 0, b"ISA*SECOND~")]
        async with engine.begin() as connection:  # files written in pieces since, and one with no piece at all
            for n in (3, 4):
                await connection.execute(sa.text(BATCH.format(content_column="", content_value="")), {
                    "id": f"batch-{n}", "icn": n, "name": f"837P_SBXHP_{n:09d}.x12"})
            for seq in (2, 0, 10, 1):  # stored out of order; seq 10 sorts after 2 as a number, not as text
                await connection.execute(sa.text(
                    "INSERT INTO submission_batch_chunks (batch_id, seq, content) VALUES ('batch-3', :s, :c)"),
                    {"s": seq, "c": f"<{seq}>".encode()})

        await _migrate(engine, config, command.downgrade, BEFORE)
        assert await _rows(engine, "SELECT batch_id, content FROM submission_batches ORDER BY batch_id") == [
            ("batch-1", b"ISA*FIRST~IEA*1*000000001~"), ("batch-2", b"ISA*SECOND~"), ("batch-3", b"<0><1><2><10>"),
            ("batch-4", b"")]
        assert await _rows(engine, "SELECT to_regclass('submission_batch_chunks') IS NULL") == [(True,)]

        await _migrate(engine, config, command.upgrade, "head")  # and up again: nothing lost on the way
        assert await _rows(engine, "SELECT batch_id, content FROM submission_batch_chunks ORDER BY batch_id") == [
            ("batch-1", b"ISA*FIRST~IEA*1*000000001~"), ("batch-2", b"ISA*SECOND~"), ("batch-3", b"<0><1><2><10>"),
            ("batch-4", b"")]
    finally:
        await engine.dispose()
