"""Use case: take in ERAs (upload, clearinghouse mailbox, bulk folder). The same bytes twice are recognised and
posted once; a new file is stored and announced (era-received), and posting follows in its own consumer."""

from __future__ import annotations

import logging

from rcm_shared.clearinghouse import MailboxUnavailable
from rcm_shared.db.types import new_id

from remittance.adapters.era_mailbox import EraSource
from remittance.domain.commands import ReceiveEra
from remittance.domain.era import Era, fingerprint
from remittance.service_layer.unit_of_work import RemittanceUnitOfWork, UnitsOfWork

log = logging.getLogger("rcm.remittance")


async def receive_era(uow: RemittanceUnitOfWork, command: ReceiveEra) -> tuple[Era, bool]:
    """Store the file and announce it. Returns the ERA and whether these bytes were here already."""
    existing = await uow.eras.by_fingerprint(command.practice_id, fingerprint(command.content))
    if existing is not None:
        return existing, True
    era = Era.receive(new_id(), command.practice_id, command.content, command.received_via)
    await uow.eras.add(era, command.content, command.file_name, command.received_via)
    uow.add(era)
    return era, False


async def pick_up_eras(uows: UnitsOfWork, source: EraSource) -> int:
    """Take every ERA waiting in the clearinghouse mailbox (bulk: a folder of many files works the same).

    Intake commits before the file is removed; when the removal fails the file comes again next round and
    intake recognises the same bytes, so nothing is lost and nothing posts twice."""
    taken = 0
    seen: set[str] = set()  # a file whose removal failed is not taken again in the same round
    while items := await source.waiting(skip=seen):
        for item in items:
            seen.add(item.name)
            async with uows() as uow:
                await receive_era(uow, ReceiveEra(item.practice_id, item.read(), item.name, "clearinghouse"))
            try:
                await item.done()
            except MailboxUnavailable:
                log.warning("era pickup: removal failed; the file comes again",
                            extra={"error": "MailboxUnavailable"})
            taken += 1
    return taken
