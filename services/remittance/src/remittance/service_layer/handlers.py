"""Use cases of remittance: take in ERAs, post them exactly once and balanced, classify and route denials.

Exactly once, three ways: the same file bytes are refused at intake (sha256 per practice); the same
payment (payer + TRN trace) posts nothing the second time (unique key on era_payments); and the consumer's
inbox makes a redelivered era-received a no-op. A transaction that does not balance is posted not at all:
it goes to the exception queue with the exact mismatch.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any, Literal

import yaml
from rcm_shared.clearinghouse import MailboxUnavailable
from rcm_shared.contracts import (
    ClaimPaymentPostedV1,
    ClaimSubmittedV1,
    DenialRaisedV1,
    EraReceivedV1,
    EventEnvelope,
    PatientResponsibilityAssessedV1,
)
from rcm_shared.db.database import Database
from rcm_shared.db.types import new_id, utcnow
from rcm_shared.messaging import PermanentEventError, stage_event
from rcm_shared.observability import metrics
from rcm_shared.x12 import X12SyntaxError
from sqlalchemy import func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from remittance.adapters.era_mailbox import EraSource
from remittance.adapters.orm import (
    claim_postings,
    denials,
    deposits,
    era_exceptions,
    era_payments,
    eras,
    journal,
    platform,
    submitted_claims,
    underpayments,
)
from remittance.domain.denials import (
    ContractedRate,
    DenialClassifier,
    DenialOccurrence,
    DenialPatternDetector,
    DenialRules,
    UnderpaymentCheck,
)
from remittance.domain.era_reader import iter_remittance
from remittance.domain.model import ClaimPayment, RemittanceHeader, RemittanceSummary
from remittance.domain.posting import (
    UNAPPLIED_CASH,
    UNDEPOSITED_ERA,
    ClaimFacts,
    ClaimLineFacts,
    JournalEntry,
    RemittancePosting,
    load_plb_accounts,
    transfer,
)
from remittance.domain.reconciliation import Deposit, EraPayment, reconcile

SOURCE = "remittance"
log = logging.getLogger("rcm.remittance")
CENT = Decimal("0.01")


def _c(amount: Decimal) -> Decimal:
    """Event payloads carry amounts to the cent ("28.00", not "28")."""
    return amount.quantize(CENT)


@cache
def denial_rules() -> DenialRules:
    return DenialRules.from_yaml(resources.files("remittance.domain").joinpath("rules/denials.yaml").read_text())


@cache
def posting_rules() -> RemittancePosting:
    data = yaml.safe_load(resources.files("remittance.domain").joinpath("rules/posting.yaml").read_text())
    return RemittancePosting(load_plb_accounts(data))


@dataclass(frozen=True)
class ReceiveEra:
    practice_id: str
    content: bytes
    file_name: str | None
    received_via: Literal["api", "clearinghouse", "bulk"]


@dataclass
class EraIntake:
    era_id: str
    duplicate: bool
    status: str


async def receive_era(session: AsyncSession, command: ReceiveEra) -> EraIntake:
    """Store the file and announce it; the same bytes twice are recognised and not posted again."""
    sha = hashlib.sha256(command.content).hexdigest()
    existing = (await session.execute(select(eras.c.era_id, eras.c.status).where(
        eras.c.practice_id == command.practice_id, eras.c.file_sha256 == sha))).first()
    if existing is not None:
        return EraIntake(existing.era_id, True, existing.status)
    era_id = new_id()
    await session.execute(insert(eras).values(
        era_id=era_id, practice_id=command.practice_id, file_sha256=sha, file_name=command.file_name,
        content=command.content, size_bytes=len(command.content), received_via=command.received_via,
        status="received", received_at=utcnow(), summary={}))
    await stage_event(session, platform, EraReceivedV1(
        era_id=era_id, practice_id=command.practice_id, file_sha256=sha, size_bytes=len(command.content),
        received_via=command.received_via), source=SOURCE, subject=era_id, practice_id=command.practice_id)
    return EraIntake(era_id, False, "received")


async def remember_submitted_claim(session: AsyncSession, envelope: EventEnvelope, event: ClaimSubmittedV1) -> None:
    """Keep a local copy of what we billed (to match CLPs) and book the charge: Dr payer A/R, Cr charges."""
    existing = (await session.execute(select(submitted_claims.c.claim_id).where(
        submitted_claims.c.claim_id == event.claim_id))).first()
    lines = [{"line_number": ln.line_number, "procedure_code": ln.procedure_code, "modifiers": ln.modifiers,
              "units": ln.units, "charge": str(ln.charge),
              "contracted_rate": str(ln.contracted_rate) if ln.contracted_rate is not None else None}
             for ln in event.lines]
    values = dict(practice_id=event.practice_id, patient_control_number=event.patient_control_number,
                  patient_id=event.patient_id, payer_id=event.payer_id, visit_id=event.visit_id,
                  total_charge=event.total_charge, date_of_service=event.date_of_service,
                  rendering_npi=event.rendering_npi, program=event.program, lines=lines, submitted_at=utcnow())
    if existing is not None:
        await session.execute(update(submitted_claims).where(submitted_claims.c.claim_id == event.claim_id)
                              .values(**values))
        return
    await session.execute(insert(submitted_claims).values(claim_id=event.claim_id, **values))
    await _write_entries(session, event.practice_id, None, [posting_rules().charge(_facts(event.claim_id, values))])
    await _apply_waiting_payments(session, envelope, event.practice_id, event.patient_control_number)


def _facts(claim_id: str, row: Any) -> ClaimFacts:
    data = row if isinstance(row, dict) else dict(row._mapping)
    return ClaimFacts(claim_id, data["patient_control_number"], tuple(
        ClaimLineFacts(int(ln["line_number"]), ln["procedure_code"], Decimal(str(ln["charge"])),
                       tuple(ln.get("modifiers") or ()), Decimal(str(ln.get("units", 1))))
        for ln in data["lines"]))


@dataclass
class _Rows:
    """Rows of one 835 transaction, written with one multi-row INSERT per table at its end (a 10,000-claim
    ERA is otherwise ~30,000 single-row round trips to the database)."""

    postings: list[dict[str, Any]] = field(default_factory=list)
    journal: list[dict[str, Any]] = field(default_factory=list)

    async def flush(self, session: AsyncSession) -> None:
        for table, rows in ((claim_postings, self.postings), (journal, self.journal)):
            for start in range(0, len(rows), 2000):
                await session.execute(insert(table), rows[start:start + 2000])
            rows.clear()


async def _write_entries(session: AsyncSession, practice_id: str, posting_id: str | None,
                         entries: list[JournalEntry], into: _Rows | None = None) -> None:
    rows = []
    now = utcnow()
    for entry in entries:
        if entry.total_debits != entry.total_credits:  # the domain guarantees it; the books must never drift
            raise ValueError("unbalanced journal entry refused")
        entry_id = new_id()
        for line in entry.lines:
            rows.append({"entry_id": entry_id, "posting_id": posting_id, "practice_id": practice_id,
                         "account": line.account, "debit": line.debit, "credit": line.credit,
                         "claim_id": line.claim_id, "memo": entry.kind, "at": now})
    if into is not None:
        into.journal.extend(rows)
    elif rows:
        await session.execute(insert(journal), rows)


@dataclass
class _Transaction:
    header: RemittanceHeader
    claims: list[ClaimPayment] = field(default_factory=list)


async def post_era(session: AsyncSession, envelope: EventEnvelope, event: EraReceivedV1) -> None:
    row = (await session.execute(select(eras).where(eras.c.era_id == event.era_id,
                                                    eras.c.practice_id == event.practice_id))).first()
    if row is None:
        raise PermanentEventError("era-received for an ERA this service does not hold")
    if row.status != "received":
        return  # already processed (aggregate guard behind the inbox)
    summary: dict[str, Any] = {"transactions": 0, "claims_posted": 0, "claims_unapplied": 0, "denials": 0,
                               "exceptions": 0, "duplicates": 0, "total_paid": "0.00"}
    total_paid = Decimal("0")
    current: _Transaction | None = None
    try:
        for record in iter_remittance(row.content, strict=True):  # strict: every field checked before posting
            if isinstance(record, RemittanceHeader):
                current = _Transaction(record)
            elif isinstance(record, ClaimPayment):
                assert current is not None
                current.claims.append(record)
            elif isinstance(record, RemittanceSummary):
                assert current is not None
                summary["transactions"] += 1
                outcome = await _post_transaction(session, event, envelope, current, record)
                for key, value in outcome.items():
                    summary[key] = summary.get(key, 0) + value
                if outcome.get("claims_posted") or outcome.get("claims_unapplied"):
                    total_paid += current.header.total_paid
                current = None
    except X12SyntaxError as exc:
        await _exception(session, event, "unparseable", exc.as_dict())
        await session.execute(update(eras).where(eras.c.era_id == event.era_id).values(
            status="exception", processed_at=utcnow(), summary={"error": exc.as_dict()}))
        return
    summary["total_paid"] = str(total_paid)
    status = "posted" if not summary["exceptions"] else ("exception" if not summary["claims_posted"] else "partial")
    if summary["duplicates"] and not summary["claims_posted"] and not summary["exceptions"]:
        status = "duplicate"
    await session.execute(update(eras).where(eras.c.era_id == event.era_id).values(
        status=status, processed_at=utcnow(), summary=summary))


async def _exception(session: AsyncSession, event: EraReceivedV1, kind: str, detail: dict[str, Any]) -> None:
    await session.execute(insert(era_exceptions).values(
        exception_id=new_id(), era_id=event.era_id, practice_id=event.practice_id, kind=kind, detail=detail,
        status="open", raised_at=utcnow()))
    metrics.BUSINESS_EVENTS.labels(SOURCE, f"era_exception_{kind}").inc()


async def _post_transaction(session: AsyncSession, event: EraReceivedV1, envelope: EventEnvelope,
                            tx: _Transaction, summary: RemittanceSummary) -> dict[str, int]:
    header = tx.header
    payer_id = (header.payer.identifier if header.payer and header.payer.identifier else "") or \
        header.payer_identifier or header.sender_id
    issues = list(summary.balance_issues) + [i for c in tx.claims for i in c.balance_issues]
    if issues:
        # Never half-posted: the whole transaction waits in the exception queue with each exact mismatch.
        await _exception(session, event, "unbalanced", {
            "transaction_control_number": header.transaction_control_number, "trace_number": header.trace_number,
            "issues": [{"rule": str(getattr(i.rule, "value", i.rule)), "claim_ordinal": i.claim_ordinal,
                        "patient_control_number": i.patient_control_number, "line_ordinal": i.line_ordinal,
                        "expected": str(i.expected), "actual": str(i.actual)} for i in issues]})
        return {"exceptions": 1}
    duplicate = (await session.execute(select(era_payments.c.payment_id).where(
        era_payments.c.practice_id == event.practice_id, era_payments.c.payer_id == payer_id,
        era_payments.c.trace_number == header.trace_number))).first()
    if duplicate is not None:
        await _exception(session, event, "duplicate_payment", {
            "trace_number": header.trace_number, "payer_id": payer_id, "first_payment_id": duplicate.payment_id})
        return {"duplicates": 1}
    payment_id = new_id()
    await session.execute(insert(era_payments).values(
        payment_id=payment_id, era_id=event.era_id, practice_id=event.practice_id, payer_id=payer_id,
        trace_number=header.trace_number, total_paid=header.total_paid, method=header.payment_method or "NON",
        payment_date=header.payment_date, claim_count=len(tx.claims), posted_at=utcnow()))
    posted = unapplied = raised = 0
    ours_by_pcn = await _our_claims(session, event.practice_id, [c.patient_control_number for c in tx.claims])
    rows = _Rows()
    for claim in tx.claims:
        ours = ours_by_pcn.get(claim.patient_control_number)
        raised += await _post_claim_payment(session, envelope, event.era_id, event.practice_id, payment_id,
                                            payer_id, claim, ours, rows)
        posted += ours is not None
        unapplied += ours is None
    if summary.provider_adjustments:
        await _write_entries(session, event.practice_id, None,
                             posting_rules().post_provider_adjustments(summary.provider_adjustments,
                                                                       header.trace_number), rows)
    await rows.flush(session)
    return {"claims_posted": posted, "claims_unapplied": unapplied, "denials": raised}


async def _our_claims(session: AsyncSession, practice_id: str, pcns: list[str]) -> dict[str, Any]:
    """Our claim copies for a transaction's CLPs, in a few queries instead of one per claim."""
    found: dict[str, Any] = {}
    unique = sorted(set(pcns))
    for start in range(0, len(unique), 1000):
        for row in (await session.execute(select(submitted_claims).where(
                submitted_claims.c.practice_id == practice_id,
                submitted_claims.c.patient_control_number.in_(unique[start:start + 1000])))).all():
            found[row.patient_control_number] = row
    return found


async def _our_claim(session: AsyncSession, practice_id: str, patient_control_number: str) -> Any:
    return (await session.execute(select(submitted_claims).where(
        submitted_claims.c.practice_id == practice_id,
        submitted_claims.c.patient_control_number == patient_control_number))).first()


async def _post_claim_payment(session: AsyncSession, envelope: EventEnvelope, era_id: str, practice_id: str,
                              payment_id: str, payer_id: str, claim: ClaimPayment, ours: Any,
                              rows: _Rows | None = None) -> int:
    """Post one CLP: journal, posting row, events; unmatched money waits as unapplied cash. Returns denials."""
    result = posting_rules().post_claim(claim, _facts(ours.claim_id, ours) if ours is not None else None)
    posting_id = new_id()
    pr = result.patient_responsibility
    posting_row = dict(
        posting_id=posting_id, era_id=era_id, payment_id=payment_id, practice_id=practice_id,
        claim_id=result.claim_id, patient_control_number=claim.patient_control_number,
        claim_status_code=claim.status_code, charge=claim.charge, paid=claim.paid,
        patient_responsibility=pr.total, payer_claim_number=claim.payer_claim_number or None,
        unapplied=0 if ours is not None else 1, posted_at=utcnow(),
        detail={"outcome": result.outcome, "discrepancies": list(result.discrepancies),
                "line_matches": [list(m) for m in result.line_matches]})
    if rows is not None:
        rows.postings.append(posting_row)
    else:
        await session.execute(insert(claim_postings).values(**posting_row))
    await _write_entries(session, practice_id, posting_id, list(result.entries), rows)
    if ours is None:
        metrics.BUSINESS_EVENTS.labels(SOURCE, "unapplied_payment").inc()
        return 0
    outcome = "reversed" if result.outcome == "reversed" else result.outcome
    await stage_event(session, platform, ClaimPaymentPostedV1(
        posting_id=posting_id, era_id=era_id, claim_id=ours.claim_id, practice_id=practice_id,
        outcome=outcome if outcome != "unapplied" else "paid",
        claim_status_code=claim.status_code, charge=_c(claim.charge), paid=_c(claim.paid),
        patient_responsibility=_c(pr.total), contractual_adjustment=_c(result.contractual_adjustment),
        payer_claim_number=claim.payer_claim_number or None,
    ), source=SOURCE, subject=ours.claim_id, practice_id=practice_id, causation=envelope)
    if pr.total != 0:
        await stage_event(session, platform, PatientResponsibilityAssessedV1(
            assessment_id=posting_id, posting_id=posting_id, claim_id=ours.claim_id, patient_id=ours.patient_id,
            practice_id=practice_id, date_of_service=ours.date_of_service, deductible=_c(pr.deductible),
            coinsurance=_c(pr.coinsurance), copay=_c(pr.copay), other=_c(pr.other), total=_c(pr.total),
        ), source=SOURCE, subject=ours.claim_id, practice_id=practice_id, causation=envelope)
    if claim.is_reversal:
        return 0
    await _flag_underpayments(session, practice_id, posting_id, payer_id, claim, ours)
    return await _raise_denials(session, envelope, era_id, practice_id, claim, ours, payer_id)


async def _flag_underpayments(session: AsyncSession, practice_id: str, posting_id: str, payer_id: str,
                              claim: ClaimPayment, ours: Any) -> None:
    """Paid below the payer's contracted rate (carried on the claim copy from the fee schedule): flag it."""
    rates = [ContractedRate(ln["procedure_code"], Decimal(ln["contracted_rate"]), tuple(ln.get("modifiers") or ()))
             for ln in ours.lines if ln.get("contracted_rate")]
    if not rates:
        return
    for short in UnderpaymentCheck(rates).check(claim):
        await session.execute(insert(underpayments).values(
            underpayment_id=new_id(), practice_id=practice_id, posting_id=posting_id, claim_id=ours.claim_id,
            payer_id=payer_id, line_ordinal=short.line_ordinal, procedure_code=short.procedure_code,
            expected=short.expected, allowed=short.allowed, shortfall=short.shortfall, status="open",
            raised_at=utcnow()))
        metrics.BUSINESS_EVENTS.labels(SOURCE, "underpayment").inc()


async def _apply_waiting_payments(session: AsyncSession, envelope: EventEnvelope, practice_id: str,
                                  patient_control_number: str) -> None:
    """A claim copy arrived after its ERA (topics are not ordered with each other): move the unapplied cash
    onto the claim and post it as it would have been."""
    waiting = (await session.execute(select(claim_postings).where(
        claim_postings.c.practice_id == practice_id, claim_postings.c.unapplied == 1,
        claim_postings.c.patient_control_number == patient_control_number))).all()
    if not waiting:
        return
    ours = await _our_claim(session, practice_id, patient_control_number)
    for posting in waiting:
        content = (await session.execute(select(eras.c.content).where(eras.c.era_id == posting.era_id))).scalar_one()
        payer_id = (await session.execute(select(era_payments.c.payer_id).where(
            era_payments.c.payment_id == posting.payment_id))).scalar_one()
        payment = next((r for r in iter_remittance(content, strict=True) if isinstance(r, ClaimPayment)
                        and r.patient_control_number == patient_control_number
                        and r.status_code == posting.claim_status_code and r.paid == posting.paid), None)
        if payment is None:
            continue
        reference = posting.payer_claim_number or patient_control_number
        release = transfer("unapplied_release", reference, UNAPPLIED_CASH, UNDEPOSITED_ERA, payment.paid, None,
                           payment.status_code, "matched a late claim copy")
        await _write_entries(session, practice_id, posting.posting_id, [release] if release else [])
        await session.execute(update(claim_postings).where(claim_postings.c.posting_id == posting.posting_id)
                              .values(unapplied=2))  # 2: resolved by a later match
        await _post_claim_payment(session, envelope, posting.era_id, practice_id, posting.payment_id, payer_id,
                                  payment, ours)


async def _raise_denials(session: AsyncSession, envelope: EventEnvelope, era_id: str, practice_id: str,
                         claim: ClaimPayment, ours: Any, payer_id: str) -> int:
    classifier = DenialClassifier(denial_rules())
    found = classifier.classify(claim, as_of=ours.date_of_service)
    if not found:
        return 0
    rules = denial_rules()
    detector = DenialPatternDetector(rules)
    since = ours.date_of_service.toordinal() - rules.patterns_on(ours.date_of_service).window_days
    for denial in found:
        history_rows = (await session.execute(select(denials.c.raised_at, denials.c.claim_id, denials.c.category,
                                                     denials.c.date_of_service).where(
            denials.c.practice_id == practice_id, denials.c.category == denial.category,
            denials.c.date_of_service >= date.fromordinal(max(since, 1))))).all()
        history = [DenialOccurrence(r.date_of_service or r.raised_at.date(), r.category, r.claim_id or "",
                                    r.claim_id or "") for r in history_rows]
        history.append(DenialOccurrence(ours.date_of_service, denial.category, ours.visit_id, ours.claim_id))
        patterns = detector.detect(history, as_of=ours.date_of_service)
        alert = any(p.category == denial.category for p in patterns)
        denial_id = new_id()
        line = next((ln for ln in ours.lines
                     if denial.procedure_code and ln["procedure_code"] == denial.procedure_code), None)
        await session.execute(insert(denials).values(
            denial_id=denial_id, practice_id=practice_id, claim_id=ours.claim_id, era_id=era_id,
            payer_id=payer_id, line_number=int(line["line_number"]) if line else None,
            procedure_code=denial.procedure_code, rendering_npi=ours.rendering_npi, program=ours.program,
            category=denial.category, group_code=denial.group_code, reason_codes=list(denial.reason_codes),
            remark_codes=list(denial.remark_codes), amount=denial.amount, suggested_action=denial.suggested_action,
            queue=denial.queue, pattern_alert=1 if alert else 0, status="open",
            date_of_service=ours.date_of_service, raised_at=utcnow()))
        await stage_event(session, platform, DenialRaisedV1(
            denial_id=denial_id, claim_id=ours.claim_id, practice_id=practice_id, patient_id=ours.patient_id,
            payer_id=payer_id,
            era_id=era_id, line_number=int(line["line_number"]) if line else None, category=denial.category,
            group_code=denial.group_code, reason_codes=list(denial.reason_codes),
            remark_codes=list(denial.remark_codes), amount=_c(denial.amount), suggested_action=denial.suggested_action,
            queue=denial.queue, pattern_alert=alert,
        ), source=SOURCE, subject=ours.claim_id, practice_id=practice_id, causation=envelope)
        metrics.BUSINESS_EVENTS.labels(SOURCE, f"denial_{denial.category}").inc()
    return len(found)


async def trial_balance(session: AsyncSession, practice_id: str) -> dict[str, Any]:
    rows = (await session.execute(select(journal.c.account, func.sum(journal.c.debit), func.sum(journal.c.credit))
                                  .where(journal.c.practice_id == practice_id).group_by(journal.c.account))).all()
    # SUM keeps the Cents column type, so the database's integer cents come back as Decimal amounts.
    accounts = {}
    total_debits = total_credits = Decimal("0.00")
    for account, debit, credit in rows:
        debit, credit = Decimal(debit or 0), Decimal(credit or 0)
        accounts[account] = {"debits": str(debit), "credits": str(credit), "balance": str(debit - credit)}
        total_debits += debit
        total_credits += credit
    return {"accounts": accounts, "total_debits": str(total_debits),
            "total_credits": str(total_credits), "balanced": total_debits == total_credits}


async def import_deposits(session: AsyncSession, practice_id: str, rows: list[tuple[str, Decimal, date]]
                          ) -> dict[str, Any]:
    """Record bank deposits (a re-imported line is recognised) and reconcile everything still open."""
    imported = 0
    for reference, amount, day in rows:
        exists = (await session.execute(select(deposits.c.deposit_id).where(
            deposits.c.practice_id == practice_id, deposits.c.reference == reference, deposits.c.amount == amount,
            deposits.c.deposit_date == day))).first()
        if exists is None:
            await session.execute(insert(deposits).values(
                deposit_id=new_id(), practice_id=practice_id, reference=reference, amount=amount, deposit_date=day,
                imported_at=utcnow()))
            imported += 1
    result = await reconcile_deposits(session, practice_id)
    return {"imported": imported, **result}


async def reconcile_deposits(session: AsyncSession, practice_id: str) -> dict[str, Any]:
    open_deposits = [Deposit(r.deposit_id, r.reference, r.amount, r.deposit_date) for r in (await session.execute(
        select(deposits).where(deposits.c.practice_id == practice_id, deposits.c.matched_payment_id.is_(None))
    )).all()]
    open_payments = [EraPayment(r.payment_id, r.trace_number, r.total_paid) for r in (await session.execute(
        select(era_payments).where(era_payments.c.practice_id == practice_id, era_payments.c.deposit_id.is_(None),
                                   era_payments.c.total_paid > 0))).all()]
    result = reconcile(open_deposits, open_payments)
    for deposit, payment in result.matched:
        await session.execute(update(deposits).where(deposits.c.deposit_id == deposit.deposit_id)
                              .values(matched_payment_id=payment.payment_id))
        await session.execute(update(era_payments).where(era_payments.c.payment_id == payment.payment_id)
                              .values(deposit_id=deposit.deposit_id))
        entry = posting_rules().deposit(deposit.amount, payment.trace_number)  # Dr cash / Cr undeposited ERA
        await _write_entries(session, practice_id, None, [entry] if entry else [])
    return {
        "matched": [{"deposit_id": d.deposit_id, "payment_id": p.payment_id, "amount": str(d.amount)}
                    for d, p in result.matched],
        "unmatched_deposits": [{"deposit_id": d.deposit_id, "reference": d.reference, "amount": str(d.amount),
                                "deposit_date": d.deposit_date.isoformat()} for d in result.unmatched_deposits],
        "unmatched_payments": [{"payment_id": p.payment_id, "trace_number": p.trace_number, "amount": str(p.amount)}
                               for p in result.unmatched_payments],
    }


async def pick_up_eras(db: Database, source: EraSource) -> int:
    """Take every ERA waiting in the clearinghouse mailbox (bulk: a folder of many files works the same).

    Intake commits before the file is removed; when the removal fails the file comes again next round and
    intake recognises the same bytes, so nothing is lost and nothing posts twice."""
    taken = 0
    for item in await source.waiting():
        async with db.transaction() as session:
            await receive_era(session, ReceiveEra(item.practice_id, item.read(), item.name, "clearinghouse"))
        try:
            await item.done()
        except MailboxUnavailable:
            log.warning("era pickup: removal failed; the file comes again", extra={"error": "MailboxUnavailable"})
        taken += 1
    return taken
