"""Gap-free control-number sequences (X12 ISA13 / GS06) kept in the service's own database."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

MAX_CONTROL_NUMBER = 999_999_999  # nine digits in ISA13


def control_number_table(metadata: MetaData) -> Table:
    return Table(
        "control_numbers", metadata,
        Column("name", String(40), primary_key=True),
        Column("last_value", Integer, nullable=False),
    )


async def next_control_number(session: AsyncSession, table: Table, name: str) -> int:
    """The next number of sequence ``name``, in the caller's transaction (row-locked on PostgreSQL)."""
    query = select(table.c.last_value).where(table.c.name == name).with_for_update()
    row = (await session.execute(query)).first()
    if row is None:
        try:
            async with session.begin_nested():  # two first users at once: one creates the row, one waits
                await session.execute(insert(table).values(name=name, last_value=1))
            return 1
        except IntegrityError:
            row = (await session.execute(query)).one()
    value = int(row.last_value) % MAX_CONTROL_NUMBER + 1
    await session.execute(update(table).where(table.c.name == name).values(last_value=value))
    return value
