"""The credentialing registry's use cases: enrollments and supervision recorded (and the open visits they change
answered again), and the registry's decision for one clinician (the HTTP check, for people and tools)."""

from __future__ import annotations

from datetime import date, datetime

from authorizations.domain.commands import RecordEnrollment, RecordSupervision
from authorizations.domain.credentialing import CredentialingDecision, Enrollment, Supervision, SupervisionPolicy
from authorizations.domain.rulebook import Rulebook
from authorizations.service_layer.determinations import redecide_clinicians
from authorizations.service_layer.unit_of_work import AuthorizationsUnitOfWork


async def record_enrollment(uow: AuthorizationsUnitOfWork, command: RecordEnrollment, *, rules: Rulebook,
                            today: date, at: datetime) -> None:
    """A clinician (or group) enrolled with a payer: their visits with that payer, and those of the clinicians they
    supervise, may now be billed."""
    registry = await uow.registries.get(command.practice_id, rules.supervision_defaults)
    enrollment = Enrollment(command.npi, command.payer_id, command.plan, command.effective_from, command.effective_to)
    known = enrollment in registry.enrollments
    registry.enroll(enrollment)  # refuses one that ends before it starts
    if known:
        return
    await uow.registries.add_enrollment(command.practice_id, enrollment)
    supervised = {s.supervisee_npi for s in registry.supervisions if s.supervisor_npi == command.npi}
    await redecide_clinicians(uow, command.practice_id, registry, {command.npi} | supervised,
                              payer_id=command.payer_id, rules=rules, today=today, at=at)


async def record_supervision(uow: AuthorizationsUnitOfWork, command: RecordSupervision, *, rules: Rulebook,
                             today: date, at: datetime) -> None:
    """A supervision relationship (and, with a payer, the practice's own supervisor-billing policy for it): the
    supervised clinician's visits (for a policy: every supervised clinician's visits with that payer) are decided
    again."""
    registry = await uow.registries.get(command.practice_id, rules.supervision_defaults)
    supervision = Supervision(command.supervisee_npi, command.supervisor_npi, command.effective_from,
                              command.effective_to)
    registry.supervise(supervision)  # refuses a clinician supervising themselves
    await uow.registries.add_supervision(command.practice_id, supervision)
    if command.payer_id and command.allows_supervisor_billing is not None:
        policy = SupervisionPolicy(command.payer_id, command.allows_supervisor_billing, command.effective_from,
                                   command.effective_to)
        registry.set_policy(policy)
        await uow.registries.add_policy(command.practice_id, policy)
        await redecide_clinicians(uow, command.practice_id, registry, {s.supervisee_npi for s in registry.supervisions},
                                  payer_id=command.payer_id, rules=rules, today=today, at=at)
    await redecide_clinicians(uow, command.practice_id, registry, {command.supervisee_npi}, payer_id=None,
                              rules=rules, today=today, at=at)


async def credentialing_decision(uow: AuthorizationsUnitOfWork, practice_id: str, npi: str, payer_id: str, plan: str,
                                 day: date, credential: str, *, rules: Rulebook) -> CredentialingDecision:
    """May ``npi`` (holding ``credential``) be billed to the payer for a visit on ``day``, and under whom."""
    registry = await uow.registries.get(practice_id, rules.supervision_defaults)
    return registry.is_credentialed(npi, payer_id, plan, day, credential)
