"""What a person's resolution of a claims work item does (the kernel's ``POST /v1/work-items/{id}/actions``).

* ``held_claims`` / ``released``: the claim is scrubbed again from claims' projection; clean, it goes out with the
  next batch; still held, nothing moves and the 409 lists the findings that stand (fix them with
  ``POST /v1/claims/{id}/amendments`` first). ``closed``: not billable (the claim is closed).
* ``rejected_claims`` / ``closed``: the claim is closed. A correction (``POST /v1/claims/{id}/corrections``)
  closes the item itself (``corrected``).
"""

from __future__ import annotations

from rcm_shared.clock import Clock
from rcm_shared.http.auth import Principal
from rcm_shared.http.errors import ProblemError
from rcm_shared.unit_of_work import UnitOfWork
from rcm_shared.work_items.api import ResolutionEffect, WorkQueue
from rcm_shared.work_items.workflow import PriorityPolicy, WorkItem

from claims.adapters.work_queue import HELD_CLAIMS, REJECTED_CLAIMS
from claims.domain.exceptions import ClaimNotFound
from claims.domain.model import ClaimStatus
from claims.domain.rulebook import Rulebook
from claims.service_layer.scrub import scrub_or_wait
from claims.service_layer.unit_of_work import ClaimsUnitOfWork

POLICY = PriorityPolicy()


def _claim_effect(rules: Rulebook, clock: Clock) -> ResolutionEffect:
    async def resolve(uow: UnitOfWork, item: WorkItem, code: str, reference: str | None,
                      principal: Principal) -> None:
        assert isinstance(uow, ClaimsUnitOfWork)
        claim = await uow.claims.get(item.practice_id, item.subject_id, lock=True)
        if claim is None:
            raise ClaimNotFound()
        now = item.resolved_at or clock.now()
        if code == "closed":
            claim.close(f"closed from the {item.queue} queue", at=now)
        else:  # released
            await scrub_or_wait(uow, [claim], rules, today=clock.today(), at=now)
            if claim.status is not ClaimStatus.SCRUBBED:
                raise ProblemError(409, "claim-not-billable", "The claim is still not billable", errors=[
                    {"field": f"claim.{f.field}", "code": f.code, "message": f.message}
                    for f in claim.findings if f.severity.value == "error"] or [
                    {"field": "claim.status", "code": claim.status.value, "message": "waits for "
                     + ", ".join(claim.awaiting)}])
        await uow.claims.save([claim])
        uow.add(claim)
    return resolve


def queues(rules: Rulebook, clock: Clock) -> dict[str, WorkQueue]:
    effect = _claim_effect(rules, clock)
    return {HELD_CLAIMS: WorkQueue(HELD_CLAIMS, frozenset({"released", "closed"}), POLICY, effect),
            REJECTED_CLAIMS: WorkQueue(REJECTED_CLAIMS, frozenset({"closed"}), POLICY, effect)}
