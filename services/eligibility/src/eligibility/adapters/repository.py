"""Set-wise writes for the tables keyed by natural keys (schedule, insurance on file, snapshots): a schedule of a
few thousand visits or a nightly batch's answers is a handful of statements, not one round trip per row."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table, and_, bindparam, insert, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession


async def upsert_rows(session: AsyncSession, table: Table, key: Sequence[str], rows: Sequence[dict[str, Any]]
                      ) -> None:
    """Insert the rows whose ``key`` columns are new, update the others (every non-key column given). Rows must
    all carry the same columns; a key repeated in ``rows`` keeps its last row."""
    latest = {tuple(row[k] for k in key): row for row in rows}
    if not latest:
        return
    columns = [table.c[k] for k in key]
    found = {tuple(r) for r in (await session.execute(select(*columns).where(
        tuple_(*columns).in_(list(latest))))).all()}
    new = [row for k, row in latest.items() if k not in found]
    old = [row for k, row in latest.items() if k in found]
    if new:
        await session.execute(insert(table), new)
    if old:
        values = [name for name in old[0] if name not in key]
        statement = update(table).where(and_(*(table.c[k] == bindparam(f"key_{k}") for k in key))).values(
            {name: bindparam(f"new_{name}") for name in values})
        await session.execute(statement, [
            {**{f"key_{k}": row[k] for k in key}, **{f"new_{name}": row[name] for name in values}} for row in old])
