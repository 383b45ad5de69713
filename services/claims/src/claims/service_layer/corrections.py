"""Corrections a biller makes: to a claim the payer answered, a replacement (frequency 7, or a new original for a
claim rejected at the front door) scrubbed at once from claims' projection, or a void (frequency 8); to a held
claim (never sent), its facts amended in place and scrubbed again."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime

from rcm_shared.db.types import new_id

from claims.domain.coding import normalize_icd10
from claims.domain.commands import AmendHeldClaim, CorrectClaim, VoidClaim
from claims.domain.exceptions import ClaimNotFound, InvalidClaim, NoSuchLine
from claims.domain.model import Claim, Clinician
from claims.domain.rulebook import Rulebook
from claims.service_layer.scrub import scrub_or_wait
from claims.service_layer.unit_of_work import ClaimsUnitOfWork
from claims.service_layer.visits import patient_control_number

log = logging.getLogger(__name__)


async def correct_claim(uow: ClaimsUnitOfWork, command: CorrectClaim, rules: Rulebook, *, today: date,
                        now: datetime) -> Claim:
    """Correct and resubmit in one call: the replacement (frequency 7, REF*F8) is scrubbed at once from the
    projection (the visit's facts are on file by then)."""
    claim, changes = await _claim_and_changes(uow, command)
    if command.member_id:
        changes["subscriber"] = replace(claim.subscriber, member_id=command.member_id)
    if command.modifiers:
        lines = list(claim.lines)
        for number, modifiers in command.modifiers.items():
            if not 1 <= number <= len(lines):
                raise NoSuchLine(number)
            lines[number - 1] = replace(lines[number - 1], modifiers=tuple(modifiers))
        changes["lines"] = tuple(lines)
    replacement_id = new_id()
    replacement = claim.correct(replacement_id, patient_control_number(replacement_id), at=now, **changes)
    if command.prior_authorization_number:
        replacement.authorization_from_determination = False  # the biller's number stays whatever is announced
    await scrub_or_wait(uow, [replacement], rules, today=today, at=now)
    await uow.claims.save([claim])
    await uow.claims.add([replacement])
    uow.add(claim, replacement)
    return replacement


async def amend_held_claim(uow: ClaimsUnitOfWork, command: AmendHeldClaim, rules: Rulebook, *, today: date,
                           now: datetime) -> Claim:
    """A biller fixes a held claim and it is scrubbed again at once: clean, it is released to the next batch
    (its held-claims work item closes as ``released``); still held, its findings say why."""
    claim, changes = await _claim_and_changes(uow, command)
    if command.place_of_service:
        changes["place_of_service"] = command.place_of_service
    if command.supervising_npi:
        if claim.supervising is not None:
            changes["supervising"] = replace(claim.supervising, npi=command.supervising_npi,
                                             credential=command.supervising_credential or claim.supervising.credential)
        elif command.supervising_credential:
            changes["supervising"] = Clinician(npi=command.supervising_npi, credential=command.supervising_credential)
        else:
            raise InvalidClaim("supervising_credential is required to add a supervising clinician")
    if command.payer_responsibility:
        changes["subscriber"] = replace(claim.subscriber, payer_responsibility=command.payer_responsibility)
    if command.diagnosis_pointers or command.modifiers or command.line_places_of_service:
        lines = list(claim.lines)

        def line(number: int, field: str) -> int:
            if not 1 <= number <= len(lines):
                raise NoSuchLine(number, field)
            return number - 1

        for number, pointers in (command.diagnosis_pointers or {}).items():
            i = line(number, "diagnosis_pointers")
            lines[i] = replace(lines[i], diagnosis_pointers=pointers)
        for number, modifiers in (command.modifiers or {}).items():
            i = line(number, "modifiers")
            lines[i] = replace(lines[i], modifiers=modifiers)
        for number, place in (command.line_places_of_service or {}).items():
            i = line(number, "line_places_of_service")
            lines[i] = replace(lines[i], place_of_service=place)
        changes["lines"] = tuple(lines)
    claim.amend(**changes)
    await scrub_or_wait(uow, [claim], rules, today=today, at=now)
    await uow.claims.save([claim])
    uow.add(claim)
    return claim


async def _claim_and_changes(uow: ClaimsUnitOfWork, command: CorrectClaim | AmendHeldClaim
                             ) -> tuple[Claim, dict[str, object]]:
    """The claim, locked, and the changes a correction and an amendment share (diagnoses, authorization number,
    rendering clinician)."""
    claim = await uow.claims.get(command.practice_id, command.claim_id, lock=True)
    if claim is None:
        raise ClaimNotFound()
    changes: dict[str, object] = {}
    if command.diagnoses:
        changes["diagnoses"] = tuple(normalize_icd10(d) for d in command.diagnoses)
    if command.prior_authorization_number:
        changes["prior_authorization"] = command.prior_authorization_number
    if command.rendering_npi:
        changes["rendering"] = replace(claim.rendering, npi=command.rendering_npi)
    return claim, changes


async def void_claim(uow: ClaimsUnitOfWork, command: VoidClaim, *, now: datetime) -> Claim:
    claim = await uow.claims.get(command.practice_id, command.claim_id, lock=True)
    if claim is None:
        raise ClaimNotFound()
    void_id = new_id()
    void = claim.void(void_id, patient_control_number(void_id), at=now)
    void.record_scrub([], now)  # a void repeats what the payer already has: nothing to edit
    await uow.claims.save([claim])
    await uow.claims.add([void])
    uow.add(claim, void)
    return void
