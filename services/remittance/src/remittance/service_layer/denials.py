"""Use case pieces of posting that judge what the payer did: denials classified, routed and watched for patterns;
lines paid below the contract flagged as underpayments (contracts: ``rules/contracted_rates.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from remittance.adapters.bulk_writer import PostingBatch, next_id
from remittance.domain.contracts import ContractedRates
from remittance.domain.denials import ContractedRate, DenialOccurrence, DenialPatternWatch, UnderpaymentCheck
from remittance.domain.events import DenialRaised
from remittance.domain.model import ClaimPayment
from remittance.domain.rulebook import Rulebook
from remittance.service_layer.unit_of_work import RemittanceUnitOfWork
from remittance.service_layer.work_queues import open_denial_items

CENT = Decimal("0.01")


def to_cent(amount: Decimal) -> Decimal:
    """Event payloads carry amounts to the cent ("28.00", not "28"); the per-claim paths write
    ``amount.quantize(CENT)`` inline (a function call less per amount, a dozen per claim)."""
    return amount.quantize(CENT)


@dataclass(frozen=True)
class PostingRun:
    """What every claim of one 835 transaction shares."""

    era_id: str
    practice_id: str
    payment_id: str
    payer_id: str
    now: datetime
    trace_number: str | None  # TRN02 of the 835 payment
    rules: Rulebook


@dataclass
class PatternWatches:
    """The pattern watches of a transaction's denials, one per key the rules watch (category, payer)."""

    by: dict[str, DenialPatternWatch]

    def raise_and_check(self, *, day: date, category: str, payer_id: str, claim_id: str) -> list[tuple[str, str]]:
        """Add the denial to every watch; the (by, key) whose pattern it is part of now."""
        crossed = []
        for by, watch in self.by.items():
            key = category if by == "category" else payer_id
            if watch.raise_and_check(DenialOccurrence(day, key, claim_id, claim_id), as_of=day):
                crossed.append((by, key))
        return crossed


async def denial_watch(uow: RemittanceUnitOfWork, rules: Rulebook, practice_id: str,
                       dates_of_service: list[date]) -> PatternWatches:
    """The pattern watches for a transaction's denials, with the stored history from the earliest window on
    (one query per key watched instead of one per denial)."""
    keys = rules.denials.patterns_on(max(dates_of_service) if dates_of_service else None).by
    if not dates_of_service:
        return PatternWatches({by: DenialPatternWatch(rules.denials) for by in keys})
    since = min(DenialPatternWatch(rules.denials).window_start(day) for day in dates_of_service)
    return PatternWatches({by: DenialPatternWatch(rules.denials, await uow.postings.denial_history(
        practice_id, since, by)) for by in keys})


def raise_denials(run: PostingRun, posting_id: str, claim: ClaimPayment, ours: Any, watch: PatternWatches,
                  batch: PostingBatch) -> int:
    """Classify, route and record the claim's denials: a row, denial-raised, a work item per queue reached, and
    the patterns they take part in (joint-review items, opened once the transaction is written)."""
    found = run.rules.classifier.classify(claim, as_of=ours.date_of_service)
    for denial in found:
        crossed = watch.raise_and_check(day=ours.date_of_service, category=denial.category, payer_id=run.payer_id,
                                        claim_id=ours.claim_id)
        alert = bool(crossed)
        for key in crossed:
            batch.pattern_keys[key] = max(batch.pattern_keys.get(key, ours.date_of_service), ours.date_of_service)
        denial_id = next_id()
        line = next((ln for ln in ours.lines
                     if denial.procedure_code and ln["procedure_code"] == denial.procedure_code), None)
        line_number = int(line["line_number"]) if line else None
        batch.denials.append(dict(
            denial_id=denial_id, practice_id=run.practice_id, claim_id=ours.claim_id, era_id=run.era_id,
            posting_id=posting_id, payer_id=run.payer_id, line_number=line_number,
            procedure_code=denial.procedure_code, rendering_npi=ours.rendering_npi, program=ours.program,
            category=denial.category, group_code=denial.group_code, reason_codes=list(denial.reason_codes),
            remark_codes=list(denial.remark_codes), amount=denial.amount, suggested_action=denial.suggested_action,
            queue=denial.queue, pattern_alert=1 if alert else 0, status="open",
            date_of_service=ours.date_of_service, raised_at=run.now))
        batch.events.append(DenialRaised(
            denial_id, ours.claim_id, run.practice_id, ours.patient_id, run.payer_id, run.era_id, line_number,
            denial.category, denial.group_code, tuple(denial.reason_codes), tuple(denial.remark_codes),
            denial.amount.quantize(CENT), denial.suggested_action, denial.queue, alert))
        open_denial_items(batch, denial_id=denial_id, practice_id=run.practice_id,
                          queues=denial.queues or (denial.queue,), category=denial.category, payer_id=run.payer_id,
                          rendering_npi=ours.rendering_npi, program=ours.program, amount=denial.amount,
                          group_code=denial.group_code, reason_codes=denial.reason_codes, now=run.now)
        batch.counts[f"denial_{denial.category}"] += 1
    return len(found)


Rates = tuple[tuple[str, Decimal | str, tuple[str, ...]], ...]  # (code, rate per unit, modifiers) per line


@lru_cache(maxsize=4096)
def _underpayment_check(rates: Rates) -> UnderpaymentCheck:
    """A fee schedule has few distinct rates, so few distinct sets of them per claim: one check per set,
    shared by every claim whose lines carry it (the check holds no state between claims)."""
    return UnderpaymentCheck(ContractedRate(code, Decimal(rate), modifiers) for code, rate, modifiers in rates)


def contracted_rates_of(contracts: ContractedRates, ours: Any) -> Rates:
    """Each line's contracted rate per unit: from remittance's contracts (rules/contracted_rates.yaml) for the payer
    billed on the date of service. A payer with no contract in force there falls back to the rate the claim copy
    carries (claims used to send it on claim-submitted; docs/decisions.md 2026-12-02)."""
    payer_id = ours.payer_id
    day = ours.date_of_service
    if payer_id in contracts.payers and contracts.contract(payer_id, day) is not None:
        found = []
        for ln in ours.lines:
            modifiers = tuple(ln.get("modifiers") or ())
            rate = contracts.rate(payer_id, day, ln["procedure_code"], modifiers)
            if rate is not None:
                found.append((ln["procedure_code"], rate, modifiers))
        return tuple(found)
    # the rate as the copy keeps it (text): turned into a Decimal once per distinct set, in _underpayment_check
    return tuple((ln["procedure_code"], ln["contracted_rate"], tuple(ln.get("modifiers") or ()))
                 for ln in ours.lines if ln.get("contracted_rate"))


def flag_underpayments(run: PostingRun, posting_id: str, claim: ClaimPayment, ours: Any,
                       batch: PostingBatch) -> None:
    """Paid below the payer's contracted rate: flag it."""
    rates = contracted_rates_of(run.rules.contracted_rates, ours)
    if not rates:
        return
    for short in _underpayment_check(rates).check(claim):
        batch.underpayments.append(dict(
            underpayment_id=next_id(), practice_id=run.practice_id, posting_id=posting_id, claim_id=ours.claim_id,
            payer_id=run.payer_id, line_ordinal=short.line_ordinal, procedure_code=short.procedure_code,
            expected=short.expected, allowed=short.allowed, shortfall=short.shortfall, status="open",
            raised_at=run.now))
        batch.counts["underpayment"] += 1
