"""Use cases about who pays: a guarantor named for a patient from a date (a parent for a minor, one person for a
family). The patient's open items dated from then on move to the guarantor's account as a transfer between
responsible parties (Dr the new account's A/R, Cr the old one's), keeping their service dates."""

from __future__ import annotations

from datetime import datetime

from rcm_shared.db.types import new_id

from patient_billing.domain.commands import AssignGuarantor
from patient_billing.domain.exceptions import InvalidGuarantor
from patient_billing.domain.ledger import Membership, ResponsibleAccount, transfer
from patient_billing.service_layer.unit_of_work import PatientBillingUnitOfWork


async def assign_guarantor(uow: PatientBillingUnitOfWork, command: AssignGuarantor, *, at: datetime
                           ) -> ResponsibleAccount:
    if (command.guarantor_id == command.patient_id) != (command.relationship == "self"):
        raise InvalidGuarantor("relationship is 'self' exactly when the patient is their own guarantor",
                               field="relationship")
    previous_id = await uow.accounts.account_id_for(command.practice_id, command.patient_id, command.effective_from)
    await uow.accounts.end_membership(command.practice_id, command.patient_id, command.effective_from)
    target = await uow.accounts.open_account(
        command.practice_id, command.guarantor_id,
        [Membership(command.patient_id, command.relationship, command.effective_from)],
        kind="family" if command.family else "individual")
    changed = [target]
    if previous_id is not None and previous_id != target.account_id:
        source = await uow.accounts.get(command.practice_id, previous_id)
        assert source is not None
        moving = [i.item_id for i in source.open_items
                  if i.patient_id == command.patient_id and i.service_date >= command.effective_from]
        if moving:
            transfer(source, target, moving, entry_id=new_id(), on=command.effective_from, at=at,
                     reason="guarantor changed")
        changed.insert(0, source)
    await uow.keep(*changed)
    return target
