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

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, datetime
from typing import Any

from prometheus_client import Counter
from rcm_shared.contracts import EligibilityCheckedV1, VisitAuthorizationDeterminedV1
from rcm_shared.db.types import utcnow

from claims.domain.commands import ScrubClaim
from claims.domain.exceptions import ClaimNotFound
from claims.domain.facts import missing_facts, scrub_facts
from claims.domain.model import Claim, ClaimStatus, Finding, Severity
from claims.domain.rulebook import Rulebook
from claims.domain.scrubbing import ClaimScrubber, claim_fingerprint, reported_providers
from claims.service_layer.unit_of_work import ClaimsUnitOfWork

FACTS_RECEIVED = Counter("rcm_claims_scrub_facts_received_total",
                         "Facts claims' scrubber projection received, by kind and whether they were new",
                         ["kind", "outcome"])
S = ClaimStatus
AFTER_DETERMINATION = (S.AWAITING_FACTS, S.HELD, S.SCRUBBED)
AFTER_ELIGIBILITY = (S.AWAITING_FACTS, S.HELD)
NOTHING_BILLABLE = Finding("LINES_MISSING", Severity.ERROR, "The claim has no service lines.", "lines")
ELIGIBILITY_FINDINGS = {"ELIGIBILITY_NOT_ON_FILE", "ELIGIBILITY_INACTIVE"}


async def scrub_or_wait(uow: ClaimsUnitOfWork, claims: Sequence[Claim], rules: Rulebook, *, today: date,
                        at: datetime | None = None) -> list[Claim]:
    """Scrub each claim whose facts are all on file; the others wait for what is missing. Returns the claims that
    changed (the caller saves them). Claims are taken in order: one scrubbed earlier makes a later one with the same
    services a duplicate, as if they had come one by one."""
    if not claims:
        return []
    determinations = await uow.facts.determinations({c.visit_id for c in claims})
    checks = await uow.facts.coverage_checks_for({(c.practice_id, c.patient_id, c.payer.payer_id) for c in claims})
    changed: list[Claim] = []
    ready: list[tuple[Claim, Any]] = []
    for claim in claims:
        if not claim.lines:
            # nothing on the visit is billable (charge capture says why): held as it is, no facts needed
            claim.record_scrub([*claim.coding_findings, NOTHING_BILLABLE], at)
            changed.append(claim)
            continue
        terms = rules.payer_terms(claim.payer.payer_id, claim.date_of_service)
        determination = determinations.get(claim.visit_id)
        on_file = checks.get((claim.practice_id, claim.patient_id, claim.payer.payer_id), [])
        missing = missing_facts(claim, terms, determination, on_file)
        if missing:
            if claim.await_facts(missing, at):
                changed.append(claim)
            continue
        facts = scrub_facts(claim, determination, on_file, today=today, submitted_fingerprints=())
        if determination is not None:
            _take_authorization_number(claim, determination.authorization_number)
        decision = facts.rendering_decision
        claim.report_providers(reported_providers(claim, decision) if decision is not None else None)
        ready.append((claim, facts))
    if not ready:
        return changed
    keys = {(claim.practice_id, claim_fingerprint(claim)) for claim, _ in ready}
    sent = await uow.claims.sent_fingerprints({p for p, _ in keys}, {f for _, f in keys})
    scrubber = ClaimScrubber(rules)
    for claim, facts in ready:
        key = (claim.practice_id, claim_fingerprint(claim))
        others = sent.get(key, set()) - {claim.claim_id}
        facts = replace(facts, submitted_fingerprints=frozenset({key[1]} if others else ()))
        claim.record_scrub(scrubber.scrub(claim, facts), at)
        if claim.status is S.SCRUBBED:
            sent.setdefault(key, set()).add(claim.claim_id)
        changed.append(claim)
    return changed


def _take_authorization_number(claim: Claim, number: str | None) -> None:
    """The number the determination names goes on the claim unless the EHR or a biller gave one; a newer answer
    replaces (or takes back) a number an older answer gave."""
    if claim.authorization_from_determination:
        claim.prior_authorization = None
        claim.authorization_from_determination = False
    if number and not claim.prior_authorization:
        claim.prior_authorization = number
        claim.authorization_from_determination = True


def determination_row(event: VisitAuthorizationDeterminedV1, received_at: datetime) -> dict[str, Any]:
    return dict(
        visit_id=event.visit_id, practice_id=event.practice_id, sequence=event.sequence,
        determined_at=event.determined_at, authorization_required=event.authorization_required,
        authorization_number=event.authorization_number, missing_reason=event.missing_reason,
        units_remaining=event.units_remaining,
        providers=[p.model_dump(mode="json") for p in event.providers],
        rendering_npi=event.rendering_npi, supervising_npi=event.supervising_npi, received_at=received_at)


async def apply_determinations(uow: ClaimsUnitOfWork, events: Sequence[VisitAuthorizationDeterminedV1],
                               rules: Rulebook, *, today: date, now: datetime) -> int:
    """Keep the newest determination of each visit and scrub the claims of the visits whose answer is new.
    Returns the claims that changed."""
    received = utcnow()
    fresh = await uow.facts.keep_determinations([determination_row(e, received) for e in events])
    FACTS_RECEIVED.labels("authorization_determination", "new").inc(len(fresh))
    FACTS_RECEIVED.labels("authorization_determination", "old").inc(len(events) - len(fresh))
    claims = await uow.claims.for_visits(fresh, AFTER_DETERMINATION)
    changed = await scrub_or_wait(uow, claims, rules, today=today, at=now)
    await uow.claims.save(changed)
    uow.add(*changed)
    return len(changed)


async def apply_coverage_checks(uow: ClaimsUnitOfWork, events: Sequence[tuple[datetime, EligibilityCheckedV1]],
                                rules: Rulebook, *, today: date, now: datetime) -> int:
    """Keep the checks (each with the time it was announced) and scrub the claims of those patients and payers
    that wait, or are held for eligibility. Returns the claims that changed."""
    received = utcnow()
    await uow.facts.keep_coverage_checks([dict(
        check_id=e.check_id, practice_id=e.practice_id, patient_id=e.patient_id, payer_id=e.payer_id, as_of=e.as_of,
        active=e.active, coverage_from=e.coverage_from, coverage_to=e.coverage_to, checked_at=announced,
        received_at=received) for announced, e in events])
    FACTS_RECEIVED.labels("eligibility_check", "new").inc(len(events))
    keys = {(e.practice_id, e.patient_id, e.payer_id) for _, e in events}
    claims = [c for c in await uow.claims.for_patients(keys, AFTER_ELIGIBILITY)
              if c.status is S.AWAITING_FACTS or {f.code for f in c.findings} & ELIGIBILITY_FINDINGS]
    changed = await scrub_or_wait(uow, claims, rules, today=today, at=now)
    await uow.claims.save(changed)
    uow.add(*changed)
    return len(changed)


async def rescrub(uow: ClaimsUnitOfWork, command: ScrubClaim, rules: Rulebook, *, today: date,
                  now: datetime) -> Claim:
    """Run the edits again on a claim (after a fix): from the projection, or it waits for what is missing."""
    claim = await uow.claims.get(command.practice_id, command.claim_id, lock=True)
    if claim is None:
        raise ClaimNotFound()
    await scrub_or_wait(uow, [claim], rules, today=today, at=now)
    await uow.claims.save([claim])
    uow.add(claim)
    return claim
