"""What the reporting read model keeps of each billing event, and the one per-claim fact row derived from them.

Every event is kept as a small fact keyed by its own id (a submission by claim id, a status change by event id,
a posting by posting id, a denial by denial id ...), so the order events arrive in across topics does not matter:
the per-claim row (:class:`ClaimFact`) is recomputed from all of a claim's facts whenever one of them arrives
(:func:`claim_fact`), and the same facts give the same row whatever their order. Money is integer cents.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

#: Statuses whose money lives elsewhere or is settled: a corrected claim's replacement carries its work, a voided
#: one was taken back, a closed one was written off. None of them is in A/R.
OUT_OF_AR = frozenset({"corrected", "voided", "closed"})
#: Statuses before the claim left the building: not billed yet, so not in A/R either.
NOT_BILLED = frozenset({"draft", "scrubbed", "held"})
#: Settled by the payer: what it paid, what the patient owes and the contractual adjustment close the claim.
SETTLED = frozenset({"paid", "partially_paid"})


@dataclass(frozen=True, slots=True)
class VisitDelivered:
    """A completed visit (visit-completed): a session delivered, insured or not."""

    visit_id: str
    patient_id: str
    billing_model: str
    payer_id: str | None
    date_of_service: date
    clinician_npi: str
    program: str | None
    cpt_code: str | None
    voided: bool


@dataclass(frozen=True, slots=True)
class Submission:
    """claim-submitted: the claim as it left in an 837P."""

    claim_id: str
    visit_id: str
    patient_id: str
    payer_id: str
    frequency_code: str
    date_of_service: date
    clinician_npi: str
    program: str | None
    cpt_code: str | None
    billed_cents: int
    submitted_on: date


@dataclass(frozen=True, slots=True)
class StatusChange:
    """claim-status-changed, ordered by when it happened (then by its event id, for a stable order)."""

    event_id: str
    claim_id: str
    previous_status: str
    status: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Posting:
    """claim-payment-posted (v1 or v2). A reversal carries negative amounts: sums net it out."""

    posting_id: str
    claim_id: str
    outcome: str
    paid_cents: int
    patient_cents: int
    contractual_cents: int
    posted_on: date
    at: datetime


@dataclass(frozen=True, slots=True)
class Denial:
    """denial-raised: one denied claim or line, classified by remittance's denial rules."""

    denial_id: str
    claim_id: str
    category: str
    amount_cents: int
    raised_at: datetime


@dataclass(frozen=True, slots=True)
class ClaimHistory:
    """Everything reporting knows of one claim. ``submission`` is None until claim-submitted arrives (a claim
    only held so far is known by its status changes)."""

    claim_id: str
    submission: Submission | None = None
    changes: tuple[StatusChange, ...] = ()
    postings: tuple[Posting, ...] = ()
    denials: tuple[Denial, ...] = ()


@dataclass(frozen=True, slots=True)
class ClaimFact:
    """One row per claim: who, what, when, how much, where it stands. ``first_pass_clean`` is None until the
    claim's first pass is decided (a first posting, or a rejection)."""

    claim_id: str
    visit_id: str | None
    patient_id: str | None
    payer_id: str | None
    clinician_npi: str | None
    program: str | None
    cpt_code: str | None
    frequency_code: str | None
    date_of_service: date | None
    submitted_on: date | None
    first_posted_on: date | None
    last_posted_on: date | None
    billed_cents: int
    paid_cents: int
    adjusted_cents: int
    patient_cents: int
    payer_open_cents: int
    status: str
    rejected: bool
    held_before_submission: bool
    denied: bool
    denial_category: str | None
    first_pass_clean: bool | None

    @property
    def original(self) -> bool:
        """An original claim (frequency 1): the first pass, the lag and the charges are counted on these."""
        return self.frequency_code == "1"

    @property
    def adjudicated(self) -> bool:
        return self.first_posted_on is not None


@dataclass(frozen=True, slots=True)
class FactRules:
    """Which first outcomes make a claim first-pass clean (rules/reporting.yaml)."""

    clean_first_outcomes: frozenset[str] = field(default_factory=lambda: frozenset({"paid"}))


def current_status(history: ClaimHistory) -> str:
    """The claim's status now: the end of the chain of its changes (each from the status the last one left),
    not the latest timestamp: two of claims' runs (an acknowledgment poll, a payment) can stamp their events in an
    order other than the one the claim went through. Changes left over that fit the chain nowhere (a branch from a
    status the claim had already left) do not move it."""
    if not history.changes:
        return "submitted" if history.submission is not None else "unknown"
    pending = sorted(history.changes, key=lambda c: (c.at, c.event_id))
    starts = {c.status for c in pending}
    first = next((c for c in pending if c.previous_status not in starts), pending[0])
    pending.remove(first)
    status = first.status
    while pending:
        step = next((c for c in pending if c.previous_status == status), None)
        if step is None:
            return status
        pending.remove(step)
        status = step.status
    return status


def payer_open_cents(status: str, billed: int, paid: int, patient: int, adjusted: int) -> int:
    """What the payer still owes: nothing once the claim is out of A/R or not billed; billed less what was paid
    and moved to the patient while a denial, an appeal or a reversal is being worked (its adjustments are not
    final); billed less paid, patient share and contractual adjustment once the payer settled it."""
    if status in OUT_OF_AR or status in NOT_BILLED or status == "unknown":
        return 0
    owed = billed - paid - patient - (adjusted if status in SETTLED else 0)
    return max(0, owed)


def claim_fact(history: ClaimHistory, rules: FactRules) -> ClaimFact:
    """The claim's fact row from all its facts; the same facts in any order give the same row."""
    sub = history.submission
    postings = sorted(history.postings, key=lambda p: (p.at, p.posting_id))
    denials = sorted(history.denials, key=lambda d: (d.raised_at, d.denial_id))
    changes = sorted(history.changes, key=lambda c: (c.at, c.event_id))
    status = current_status(history)
    billed = sub.billed_cents if sub is not None else 0
    paid = sum(p.paid_cents for p in postings)
    patient = sum(p.patient_cents for p in postings)
    adjusted = sum(p.contractual_cents for p in postings)
    rejections = [c.at for c in changes if c.status == "rejected"]
    first = postings[0] if postings else None
    denied = bool(denials) or any(p.outcome == "denied" for p in postings)
    clean: bool | None = None
    if first is not None or rejections:
        rejected_first = bool(rejections) and (first is None or min(rejections) <= first.at)
        clean = not rejected_first and first is not None and first.outcome in rules.clean_first_outcomes
    return ClaimFact(
        claim_id=history.claim_id,
        visit_id=sub.visit_id if sub else None, patient_id=sub.patient_id if sub else None,
        payer_id=sub.payer_id if sub else None, clinician_npi=sub.clinician_npi if sub else None,
        program=sub.program if sub else None, cpt_code=sub.cpt_code if sub else None,
        frequency_code=sub.frequency_code if sub else None, date_of_service=sub.date_of_service if sub else None,
        submitted_on=sub.submitted_on if sub else None,
        first_posted_on=first.posted_on if first else None,
        last_posted_on=postings[-1].posted_on if postings else None,
        billed_cents=billed, paid_cents=paid, adjusted_cents=adjusted, patient_cents=patient,
        payer_open_cents=payer_open_cents(status, billed, paid, patient, adjusted) if sub is not None else 0,
        status=status, rejected=bool(rejections),
        held_before_submission=any(c.status == "held" for c in changes),
        denied=denied,
        denial_category=denials[0].category if denials else ("unclassified" if denied else None),
        first_pass_clean=clean if sub is None or sub.frequency_code == "1" else None,
    )


def histories(claim_ids: Iterable[str], submissions: Iterable[Submission], changes: Iterable[StatusChange],
              postings: Iterable[Posting], denials: Iterable[Denial]) -> dict[str, ClaimHistory]:
    """Group loose facts into one history per claim (claims with no fact of a kind get an empty one)."""
    subs = {s.claim_id: s for s in submissions}
    by_claim: dict[str, tuple[list[StatusChange], list[Posting], list[Denial]]] = {
        c: ([], [], []) for c in claim_ids}
    for change in changes:
        by_claim.setdefault(change.claim_id, ([], [], []))[0].append(change)
    for posting in postings:
        by_claim.setdefault(posting.claim_id, ([], [], []))[1].append(posting)
    for denial in denials:
        by_claim.setdefault(denial.claim_id, ([], [], []))[2].append(denial)
    for claim_id in subs:
        by_claim.setdefault(claim_id, ([], [], []))
    return {c: ClaimHistory(c, subs.get(c), tuple(ch), tuple(po), tuple(de)) for c, (ch, po, de) in by_claim.items()}


def as_of(history: ClaimHistory, day: date, day_of: Callable[[datetime], date]) -> ClaimHistory:
    """The claim as it stood at the end of ``day`` (``day_of``: an instant's date in the practice's time zone):
    what was submitted, changed, posted and denied by then. Its fact row is then the row of that day."""
    sub = history.submission if history.submission is not None and history.submission.submitted_on <= day else None
    return ClaimHistory(history.claim_id, sub, tuple(c for c in history.changes if day_of(c.at) <= day),
                        tuple(p for p in history.postings if p.posted_on <= day),
                        tuple(d for d in history.denials if day_of(d.raised_at) <= day))


def last_day(history: ClaimHistory, day_of: Callable[[datetime], date]) -> date | None:
    """The day of the claim's latest fact (None: none): from that day on, ``as_of`` gives the whole history."""
    days = ([history.submission.submitted_on] if history.submission is not None else []) + [
        day_of(c.at) for c in history.changes] + [p.posted_on for p in history.postings] + [
        day_of(d.raised_at) for d in history.denials]
    return max(days, default=None)

