"""Many rows into one table inside the caller's transaction, fast.

On PostgreSQL (asyncpg) the rows go through ``COPY ... FROM STDIN`` (binary) on the session's own
connection, so they commit or roll back with everything else the transaction did. Each value first goes
through the column type's own bind processing (``Cents`` refusing floats, ``UtcDateTime`` requiring time
zones, JSON serialisation), exactly as an INSERT would. Elsewhere (SQLite) it is an executemany INSERT.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_many(session: AsyncSession, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Insert ``rows`` (dicts with the same keys; columns left out take their server default, e.g. an
    identity id, assigned in row order) into ``table`` in the session's transaction."""
    if not rows:
        return
    connection = await session.connection()
    dialect = connection.dialect
    raw = (await connection.get_raw_connection()).driver_connection
    if dialect.driver != "asyncpg" or raw is None or not raw.is_in_transaction():
        # No COPY (another driver), or a transaction SQLAlchemy has not opened on the wire yet.
        await session.execute(insert(table), list(rows))
        return
    names = list(rows[0])
    processors: list[Callable[[Any], Any] | None] = [table.c[name].type.bind_processor(dialect) for name in names]
    plain = [name for name, process in zip(names, processors, strict=True) if process is None]
    processed = [(name, process) for name, process in zip(names, processors, strict=True) if process is not None]
    order = plain + [name for name, _ in processed]
    records = [tuple([row[name] for name in plain] + [process(row[name]) for name, process in processed])
               for row in rows]
    await raw.copy_records_to_table(table.name, records=records, columns=order, schema_name=table.schema)
