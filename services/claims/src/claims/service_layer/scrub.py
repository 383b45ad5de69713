"""Scrubbing from claims' own projection: keep the facts other services announce, and scrub the claims they
complete. Nothing here asks another service: a claim whose facts are not on file waits (``awaiting_facts``) and
is scrubbed by the consumer that brings them.

* ``visit-authorization-determined`` (a poll at a time): the newest answer per visit is kept; the claims of the
  visits whose answer is new are scrubbed again (waiting, held or scrubbed and not yet sent: the answer changed).
* ``eligibility-checked`` (a poll at a time): the checks are kept; the claims of those patients and payers that
  wait, or are held for eligibility, are scrubbed again.

Both take the claims' row locks after writing their own facts and read the other facts after that, so two
consumers bringing the two halves of a claim's facts at once cannot both leave it waiting: the second to lock
reads what the first committed.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any

from prometheus_client import Counter
from rcm_shared.contracts import EligibilityCheckedV1, EventEnvelope, VisitAuthorizationDeterminedV1
from rcm_shared.db.types import utcnow
from sqlalchemy.ext.asyncio import AsyncSession

from claims.adapters import repository as repo
from claims.adapters.claim_document import claim_from_document
from claims.domain.facts import missing_facts, scrub_facts
from claims.domain.model import Claim, ClaimStatus, Finding, Severity
from claims.domain.rulebook import Rulebook
from claims.domain.scrubbing import ClaimScrubber, claim_fingerprint, reported_providers

log = logging.getLogger(__name__)
UNREADABLE_CLAIMS = Counter("rcm_claim_documents_unreadable_total",
                            "Stored claim documents that could not be read back, by where it happened", ["where"])
FACTS_RECEIVED = Counter("rcm_claims_scrub_facts_received_total",
                         "Facts claims' scrubber projection received, by kind and whether they were new", ["kind",
                                                                                                         "outcome"])
S = ClaimStatus
AFTER_DETERMINATION = (S.AWAITING_FACTS, S.HELD, S.SCRUBBED)
AFTER_ELIGIBILITY = (S.AWAITING_FACTS, S.HELD)
NOTHING_BILLABLE = Finding("LINES_MISSING", Severity.ERROR, "The claim has no service lines.", "lines")
ELIGIBILITY_FINDINGS = {"ELIGIBILITY_NOT_ON_FILE", "ELIGIBILITY_INACTIVE"}


@dataclass
class Scrubbable:
    """A claim to scrub (or to keep waiting), with what its row says about it."""

    claim: Claim
    practice_id: str
    patient_id: str


def readable_claim(row: Any, where: str) -> Claim | None:
    """The claim in a stored document, or None when it cannot be read back (counted and logged by id only: the
    document itself holds PHI)."""
    try:
        return claim_from_document(row.document)
    except Exception as exc:  # whatever a damaged document raises (KeyError, TypeError, ValueError ...)
        UNREADABLE_CLAIMS.labels(where).inc()
        log.error("claim document unreadable, skipped",
                  extra={"claim_id": row.claim_id, "where": where, "error": type(exc).__name__})
        return None


async def scrub_or_wait(session: AsyncSession, items: Sequence[Scrubbable], rules: Rulebook, *, today: date,
                        at: datetime | None = None) -> list[Scrubbable]:
    """Scrub each claim whose facts are all on file; the others wait for what is missing. Returns the claims that
    changed (to save). Claims are taken in order: one scrubbed earlier makes a later one with the same
    services a duplicate, as if they had come one by one."""
    if not items:
        return []
    determinations = await repo.determinations(session, {i.claim.visit_id for i in items})
    checks = await repo.coverage_checks_for(session, {(i.practice_id, i.patient_id, i.claim.payer.payer_id)
                                                      for i in items})
    changed: list[Scrubbable] = []
    ready: list[tuple[Scrubbable, Any]] = []
    for item in items:
        claim = item.claim
        terms = rules.payer_terms(claim.payer.payer_id, claim.date_of_service)
        determination = determinations.get(claim.visit_id)
        on_file = checks.get((item.practice_id, item.patient_id, claim.payer.payer_id), [])
        if not claim.lines:
            # nothing on the visit is billable (charge capture says why): held as it is, no facts needed
            claim.record_scrub([*claim.coding_findings, NOTHING_BILLABLE], at)
            changed.append(item)
            continue
        missing = missing_facts(claim, terms, determination, on_file)
        if missing:
            if claim.await_facts(missing, at):
                changed.append(item)
            continue
        facts = scrub_facts(claim, determination, on_file, today=today, submitted_fingerprints=())
        if determination is not None and determination.authorization_number and not claim.prior_authorization:
            claim.prior_authorization = determination.authorization_number
        decision = facts.rendering_decision
        claim.report_providers(reported_providers(claim, decision) if decision is not None else None)
        ready.append((item, facts))
    if not ready:
        return changed
    fingerprints = {(item.practice_id, claim_fingerprint(item.claim)): item for item, _ in ready}
    sent = await repo.sent_fingerprints(session, {p for p, _ in fingerprints}, {f for _, f in fingerprints})
    scrubber = ClaimScrubber(rules)
    for item, facts in ready:
        claim = item.claim
        key = (item.practice_id, claim_fingerprint(claim))
        others = sent.get(key, set()) - {claim.claim_id}
        facts = replace(facts, submitted_fingerprints=frozenset({key[1]} if others else ()))
        claim.record_scrub(scrubber.scrub(claim, facts), at)
        if claim.status is S.SCRUBBED:
            sent.setdefault(key, set()).add(claim.claim_id)
        changed.append(item)
    return changed


async def save_changed(session: AsyncSession, changed: Iterable[Scrubbable], *, new: bool = False,
                       causation: EventEnvelope | None = None) -> None:
    by_practice: dict[str, list[tuple[Claim, str]]] = defaultdict(list)
    for item in changed:
        by_practice[item.practice_id].append((item.claim, item.patient_id))
    for practice_id, claims in by_practice.items():
        await repo.save_claims(session, practice_id, claims, new=new, causation=causation)


def _scrubbable(rows: Iterable[Any], where: str) -> list[Scrubbable]:
    out = []
    for row in rows:
        claim = readable_claim(row, where)
        if claim is not None:  # an unreadable one is held by the submission run that meets it
            out.append(Scrubbable(claim, row.practice_id, row.patient_id))
    return out


def determination_row(event: VisitAuthorizationDeterminedV1, received_at: datetime) -> dict[str, Any]:
    return dict(
        visit_id=event.visit_id, practice_id=event.practice_id, sequence=event.sequence,
        determined_at=event.determined_at, authorization_required=event.authorization_required,
        authorization_number=event.authorization_number, missing_reason=event.missing_reason,
        units_remaining=event.units_remaining,
        providers=[p.model_dump(mode="json") for p in event.providers],
        rendering_npi=event.rendering_npi, supervising_npi=event.supervising_npi, received_at=received_at)


async def apply_determinations(session: AsyncSession, events: Sequence[tuple[EventEnvelope,
                                                                             VisitAuthorizationDeterminedV1]],
                               rules: Rulebook, *, today: date, now: datetime) -> int:
    """Keep the newest determination of each visit and scrub the claims of the visits whose answer is new.
    Returns the claims that changed."""
    received = utcnow()
    fresh = await repo.keep_determinations(session, [determination_row(e, received) for _, e in events])
    FACTS_RECEIVED.labels("authorization_determination", "new").inc(len(fresh))
    FACTS_RECEIVED.labels("authorization_determination", "old").inc(len(events) - len(fresh))
    rows = await repo.claims_for_visits(session, fresh, AFTER_DETERMINATION)
    changed = await scrub_or_wait(session, _scrubbable(rows, "determination"), rules, today=today, at=now)
    await save_changed(session, changed, causation=events[0][0] if len(events) == 1 else None)
    return len(changed)


async def apply_coverage_checks(session: AsyncSession, events: Sequence[tuple[EventEnvelope, EligibilityCheckedV1]],
                                rules: Rulebook, *, today: date, now: datetime) -> int:
    """Keep the checks and scrub the claims of those patients and payers that wait, or are held for eligibility.
    Returns the claims that changed."""
    received = utcnow()
    await repo.keep_coverage_checks(session, [dict(
        check_id=e.check_id, practice_id=e.practice_id, patient_id=e.patient_id, payer_id=e.payer_id, as_of=e.as_of,
        active=e.active, coverage_from=e.coverage_from, coverage_to=e.coverage_to, checked_at=envelope.time,
        received_at=received) for envelope, e in events])
    FACTS_RECEIVED.labels("eligibility_check", "new").inc(len(events))
    keys = {(e.practice_id, e.patient_id, e.payer_id) for _, e in events}
    rows = [r for r in await repo.claims_for_patients(session, keys, AFTER_ELIGIBILITY)
            if r.status == S.AWAITING_FACTS.value or {f.get("code") for f in r.findings or []} & ELIGIBILITY_FINDINGS]
    changed = await scrub_or_wait(session, _scrubbable(rows, "eligibility"), rules, today=today, at=now)
    await save_changed(session, changed, causation=events[0][0] if len(events) == 1 else None)
    return len(changed)
