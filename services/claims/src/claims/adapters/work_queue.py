"""Claims' work queues on the work-item kernel (``rcm_shared.work_items``): a held claim and a rejected claim each
have one active item (queues ``held_claims`` and ``rejected_claims``), opened when the claim moves there and
resolved by the system when it leaves (scrubbed clean after an edit: ``released``; corrected: ``corrected``;
voided; waiting for facts again). Held again with other findings: the same item, found again.

Followed where a claim's moves are written (both writers of claims: the unit of work's repository and the bulk
``save_claims``), from the events recorded since the last write; the items and their announcements
(work-item-opened / work-item-resolved) go in the same transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rcm_shared.db.bulk import insert_many
from rcm_shared.db.types import new_id
from rcm_shared.messaging import stage_events
from rcm_shared.work_items.announcements import work_item_announcements
from rcm_shared.work_items.repository import WorkItemRepository, acting_on, new_item_rows
from rcm_shared.work_items.workflow import PriorityPolicy, WorkItem
from sqlalchemy.ext.asyncio import AsyncSession

from claims.adapters.orm import platform, work_item_tables
from claims.domain import events as ev
from claims.domain.model import Claim, ClaimStatus

SOURCE = "claims"
HELD_CLAIMS = "held_claims"
REJECTED_CLAIMS = "rejected_claims"
QUEUE_OF = {ClaimStatus.HELD.value: HELD_CLAIMS, ClaimStatus.REJECTED.value: REJECTED_CLAIMS}
SUBJECT = "claim"
POLICY = PriorityPolicy()
#: Why the system closes a claim's item: the status the claim left the queue for.
LEFT_FOR = {ClaimStatus.SCRUBBED.value: "released", ClaimStatus.SUBMITTED.value: "released",
            ClaimStatus.CORRECTED.value: "corrected", ClaimStatus.VOIDED.value: "voided",
            ClaimStatus.AWAITING_FACTS.value: "waiting_for_facts", ClaimStatus.HELD.value: "held_again",
            ClaimStatus.REJECTED.value: "rejected_again"}
RESOLUTIONS = frozenset(LEFT_FOR.values()) | {"closed"}


def _codes(events: Sequence[ev.ClaimEvent]) -> tuple[str, ...]:
    last = events[-1]
    return tuple(getattr(last, "error_codes", ()) or getattr(last, "reason_codes", ()) or ())


def _facts(claim: Claim, codes: tuple[str, ...]) -> dict[str, Any]:
    return {"category": codes[0][:60] if codes else None, "payer_id": claim.payer.payer_id[:64],
            "clinician_npi": claim.rendering_provider.npi, "program": claim.program, "amount": claim.total_charge,
            "summary": (",".join(codes) or "no reason given")[:200]}


async def follow_claims(session: AsyncSession, practice_id: str,
                        moved: Sequence[tuple[Claim, Sequence[ev.ClaimEvent]]]) -> None:
    """Open, find again or resolve the items of claims that moved into or out of a queue (``moved``: each claim
    with the events recorded since its last write)."""
    relevant = [(claim, events) for claim, events in moved if events and any(
        e.status in QUEUE_OF or e.previous_status in QUEUE_OF for e in events)]
    if not relevant:
        return
    repository = WorkItemRepository(session, work_item_tables)
    active: dict[str, list[WorkItem]] = {}
    in_hand = acting_on(session)  # a person's action on the item saves it (and its move) itself
    for item in await repository.active_for_subjects(practice_id, SUBJECT, [c.claim_id for c, _ in relevant]):
        if item.item_id not in in_hand:
            active.setdefault(item.subject_id, []).append(item)
    opened: list[WorkItem] = []
    changed: list[WorkItem] = []
    for claim, events in relevant:
        now = events[-1].occurred_at
        target = QUEUE_OF.get(claim.status.value)
        for item in active.get(claim.claim_id, []):
            if item.queue == target:
                item.recur(now=now, policy=POLICY, **_facts(claim, _codes(events)))
            else:
                code = LEFT_FOR.get(claim.status.value, "closed")
                item.resolve(code, actor="system", now=now, allowed=frozenset({code}),
                             note=f"the claim is {claim.status.value}")
            changed.append(item)
        if target is not None and not any(i.queue == target for i in active.get(claim.claim_id, [])):
            opened.append(WorkItem.open(
                item_id=new_id(), practice_id=practice_id, queue=target, subject_type=SUBJECT,
                subject_id=claim.claim_id, now=now, policy=POLICY, **_facts(claim, _codes(events))))
    for item in changed:
        await repository.save(item)
    announcements = [a for item in (*opened, *changed) for event in item.pull_events()
                     for a in work_item_announcements(event, SOURCE)]
    item_rows, action_rows = new_item_rows(opened)
    await insert_many(session, work_item_tables.items, item_rows)
    await insert_many(session, work_item_tables.actions, action_rows)
    if announcements:
        await stage_events(session, platform, announcements, source=SOURCE, practice_id=practice_id)
