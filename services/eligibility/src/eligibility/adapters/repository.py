"""Set-wise writes for the tables keyed by natural keys (schedule, insurance on file, snapshots): a schedule of a
few thousand visits or a nightly batch's answers is a handful of statements, not one round trip per row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import ColumnElement, Executable


async def upsert_rows(session: AsyncSession, table: Table, key: Sequence[str], rows: Sequence[dict[str, Any]]
                      ) -> None:
    """Insert the rows whose ``key`` columns are new, update the others (every non-key column given). Rows must
    all carry the same columns; a key repeated in ``rows`` keeps its last row; ``key`` is the table's primary key
    or a unique constraint.

    One ``INSERT .. ON CONFLICT DO UPDATE``: two writers of the same new key (the EHR posting the schedule twice
    at once, the visit-scheduled consumer beside it) both succeed instead of one failing on the unique key."""
    latest = {tuple(row[k] for k in key): row for row in rows}
    if not latest:
        return
    values = [name for name in next(iter(latest.values())) if name not in key]
    await session.execute(_upsert(session.get_bind().dialect.name, table, key, values), list(latest.values()))


def _upsert(dialect: str, table: Table, key: Sequence[str], values: Sequence[str]) -> Executable:
    index = [table.c[k] for k in key]
    if dialect == "postgresql":
        pg = postgresql.insert(table)
        return pg.on_conflict_do_update(index_elements=index, set_={name: pg.excluded[name] for name in values})
    lite = sqlite.insert(table)
    return lite.on_conflict_do_update(index_elements=index, set_={name: lite.excluded[name] for name in values})


async def insert_unless_open(session: AsyncSession, table: Table, row: dict[str, Any], *, key: Sequence[str],
                             open_rows: ColumnElement[bool], returning: str,
                             on_open: dict[str, Any] | None = None) -> Any:
    """Insert ``row`` unless an open row (``open_rows``, the predicate of a partial unique index on ``key``)
    exists for the same key: then nothing (``on_open`` None, returns None) or that row is updated with
    ``on_open`` (returns its ``returning`` column). One ``INSERT .. ON CONFLICT``, so two transactions racing to
    open the same row end with one, and neither fails."""
    dialect = session.get_bind().dialect.name
    statement = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    index = [table.c[k] for k in key]
    if on_open is None:
        upsert = statement.values(**row).on_conflict_do_nothing(index_elements=index, index_where=open_rows)
    else:
        upsert = statement.values(**row).on_conflict_do_update(index_elements=index, index_where=open_rows,
                                                                set_=on_open)
    return (await session.execute(upsert.returning(table.c[returning]))).scalar_one_or_none()
