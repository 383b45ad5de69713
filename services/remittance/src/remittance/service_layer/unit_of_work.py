"""The unit of work of remittance: one transaction, the repositories of its aggregates, and (through the kernel's
``UnitOfWork``) the outbox rows announcing what was recorded: by the ERA aggregate (era-received) and by the posting
batch, a chunk at a time (claim-payment-posted, patient-responsibility-assessed, denial-raised).

The ERA posting path writes in bulk (``adapters/bulk_writer.py``) on the same session; its events still go through
this unit of work's event mapper and outbox."""

from __future__ import annotations

from rcm_shared.unit_of_work import UnitOfWork, UnitOfWorkFactory
from rcm_shared.work_items.repository import WorkItemRepository
from sqlalchemy.ext.asyncio import AsyncSession

from remittance.adapters.orm import work_item_tables
from remittance.adapters.repository import (
    SqlClaimCopyRepository,
    SqlDepositRepository,
    SqlEraRepository,
    SqlExceptionRepository,
    SqlPostingRepository,
)


class RemittanceUnitOfWork(UnitOfWork):
    eras: SqlEraRepository
    claim_copies: SqlClaimCopyRepository
    postings: SqlPostingRepository
    exceptions: SqlExceptionRepository
    deposits: SqlDepositRepository
    work_items: WorkItemRepository

    def bind(self, session: AsyncSession) -> None:
        self.eras = SqlEraRepository(session)
        self.claim_copies = SqlClaimCopyRepository(session)
        self.postings = SqlPostingRepository(session)
        self.exceptions = SqlExceptionRepository(session)
        self.deposits = SqlDepositRepository(session)
        self.work_items = WorkItemRepository(session, work_item_tables)


UnitsOfWork = UnitOfWorkFactory[RemittanceUnitOfWork]
