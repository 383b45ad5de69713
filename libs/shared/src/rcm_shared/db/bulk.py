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
    # Column by column (one pass of each type's processor over its values), then zipped into records:
    # the same values as row by row, without building a list and a tuple per row.
    columns: list[list[Any]] = []
    for name in names:
        process: Callable[[Any], Any] | None = table.c[name].type.bind_processor(dialect)
        values = [row[name] for row in rows]
        columns.append(values if process is None else list(map(process, values)))
    records = list(zip(*columns, strict=True))
    await raw.copy_records_to_table(table.name, records=records, columns=names, schema_name=table.schema)
