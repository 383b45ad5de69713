"""Session limits: every completed insured visit counts against the patient's yearly session cap with that payer
(the limit and the payer's own 'visits remaining' come from the benefits on file); before the cap is reached the
patient goes on the session-limit work queue and ``eligibility-checked`` says so (``session_limit_alert``).

A poll of ``visit-completed`` is counted as one batch: the visits are written in one statement, the benefits,
stored visits and alerts of every patient in it are read in three, whatever the poll's size."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import partial

from rcm_shared.contracts import VisitCompletedV1
from rcm_shared.db.types import utcnow

from eligibility.domain.model import CompletedVisit
from eligibility.domain.rulebook import EligibilityRules
from eligibility.service_layer.unit_of_work import EligibilityUnitOfWork


async def count_completed_visits(uow: EligibilityUnitOfWork, completed: Sequence[VisitCompletedV1],
                                 rules: EligibilityRules) -> None:
    visits = [CompletedVisit(e.practice_id, e.visit_id, e.patient_id, e.payer_id, e.date_of_service, e.voided,
                             e.replaces_visit_id)
              for e in completed if e.payer_id is not None and e.billing_model == "insurance"]
    if not visits:
        return
    await uow.session_limits.record_visits(visits)
    by_member: dict[tuple[str, str, str], list[CompletedVisit]] = defaultdict(list)
    for visit in visits:
        by_member[visit.member].append(visit)
    limits = await uow.session_limits.limits_for(await uow.benefits.get_many(by_member))
    for member, limit in limits.items():
        limit.count(by_member[member], partial(rules.session_limits.alert_at_remaining, member[2]))
    await uow.session_limits.save(limits.values(), utcnow())
    uow.add(*limits.values())
