"""Use case: bank deposits imported and reconciled with ERA payments (EFT reconciliation): a deposit whose reference
is a payment's TRN trace and whose amount matches to the cent moves the money from undeposited ERA to cash."""

from __future__ import annotations

from typing import Any

from remittance.domain.commands import ImportDeposits
from remittance.domain.reconciliation import reconcile
from remittance.domain.rulebook import Rulebook
from remittance.service_layer.unit_of_work import RemittanceUnitOfWork


async def import_deposits(uow: RemittanceUnitOfWork, command: ImportDeposits, rules: Rulebook) -> dict[str, Any]:
    """Record bank deposits (a re-imported line is recognised) and reconcile everything still open."""
    imported = 0
    for reference, amount, day in command.rows:
        imported += await uow.deposits.add_if_new(command.practice_id, reference, amount, day)
    result = await reconcile_deposits(uow, command.practice_id, rules)
    return {"imported": imported, **result}


async def reconcile_deposits(uow: RemittanceUnitOfWork, practice_id: str, rules: Rulebook) -> dict[str, Any]:
    result = reconcile(await uow.deposits.open_deposits(practice_id), await uow.deposits.open_payments(practice_id))
    for deposit, payment in result.matched:
        await uow.deposits.match(deposit.deposit_id, payment.payment_id)
        entry = rules.posting.deposit(deposit.amount, payment.trace_number)  # Dr cash / Cr undeposited ERA
        await uow.postings.write_entries(practice_id, None, [entry] if entry else [])
    return {
        "matched": [{"deposit_id": d.deposit_id, "payment_id": p.payment_id, "amount": str(d.amount)}
                    for d, p in result.matched],
        "unmatched_deposits": [{"deposit_id": d.deposit_id, "reference": d.reference, "amount": str(d.amount),
                                "deposit_date": d.deposit_date.isoformat()} for d in result.unmatched_deposits],
        "unmatched_payments": [{"payment_id": p.payment_id, "trace_number": p.trace_number, "amount": str(p.amount)}
                               for p in result.unmatched_payments],
    }
