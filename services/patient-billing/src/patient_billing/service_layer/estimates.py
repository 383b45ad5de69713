"""Good Faith Estimates: created with their deadline clock, issued (rendered and stored as shown, ``gfe-issued``),
re-issued as a new version when the plan of care changes, listed as a work queue of those due or late, watched as
charges post (``gfe-threshold-approached``), and disputed by the patient (``gfe-dispute-opened``: the disputed amount
is held out of what statements and collections demand until the dispute is resolved)."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from rcm_shared.contracts import (
    GoodFaithEstimateDisputeOpenedV1,
    GoodFaithEstimateIssuedV1,
    GoodFaithEstimateThresholdApproachedV1,
)
from rcm_shared.db.types import from_cents, new_id
from sqlalchemy.ext.asyncio import AsyncSession

from patient_billing.adapters.documents.estimate_pdf import render_estimate
from patient_billing.adapters.documents.repository import DocumentsRepository
from patient_billing.domain.document_errors import DocumentFactsMissing, DocumentNotFound, DocumentRefused
from patient_billing.domain.estimates import (
    BusinessCalendar,
    EstimateDocument,
    EstimatePlan,
    ProviderParty,
    billed_in_course,
    check_dispute,
    course_end,
    due_by,
    queue_state,
    retain_until,
    watch,
)
from patient_billing.service_layer.document_kit import DocumentKit
from patient_billing.service_layer.unit_of_work import PatientBillingUnitOfWork

TRIGGERS = ("scheduled", "requested", "replan")


def business_days(kit: DocumentKit, practice_id: str) -> BusinessCalendar:
    return kit.rules.calendar.for_practice(practice_id)


async def create_estimate(uow: PatientBillingUnitOfWork, kit: DocumentKit, *, practice_id: str, patient_id: str,
                          trigger: str, plan: EstimatePlan, first_service_date: date | None,
                          asked_on: date | None = None, replaces: Any = None) -> Any:
    """An estimate owed: its clock starts on ``asked_on`` (the practice's today unless given). A service scheduled
    fewer business days ahead than the rule's floor owes none before it; one made anyway is due on the service
    day."""
    if trigger not in TRIGGERS:
        raise DocumentRefused(f"trigger is one of {TRIGGERS}", field="trigger")
    repo = DocumentsRepository(uow.session)
    asked = asked_on or kit.clock.today()
    policy = kit.rules.estimates.on(asked)
    business = business_days(kit, practice_id)
    due = due_by(trigger="requested" if trigger == "replan" else trigger, asked_on=asked,
                 first_service_date=first_service_date, policy=policy, business=business)
    required = due is not None
    if due is None:
        assert first_service_date is not None
        due = first_service_date
    start = first_service_date or asked
    estimate_id = new_id()
    await repo.add_estimate(
        estimate_id=estimate_id, practice_id=practice_id, patient_id=patient_id, status="due", trigger=trigger,
        asked_on=asked, first_service_date=first_service_date, due_by=due,
        version=(replaces.version + 1) if replaces is not None else 1,
        replaces_estimate_id=replaces.estimate_id if replaces is not None else None, covers_from=start,
        covers_to=course_end(start, policy), total_cents=plan.total, plan={**plan.as_dict(), "required": required},
        content=None, pdf=None, pdf_sha256=None, watch={}, issued_at=None,
        retain_until=retain_until(asked, policy), created_at=kit.clock.now())
    return await repo.estimate(practice_id, estimate_id)


async def issue_estimate(uow: PatientBillingUnitOfWork, kit: DocumentKit, practice_id: str, estimate_id: str
                         ) -> Any:
    repo = DocumentsRepository(uow.session)
    row = await repo.estimate(practice_id, estimate_id, lock=True)
    if row is None:
        raise DocumentNotFound("no Good Faith Estimate with this id", field="estimate_id")
    if row.status != "due":
        raise DocumentRefused(f"this estimate is {row.status}; re-issue it to change it", field="estimate_id")
    plan = EstimatePlan.from_dict(row.plan)
    profile = await repo.practice(practice_id)
    if profile is None:
        raise DocumentFactsMissing("the practice's profile (name, address, NPI, tax ID) is not on file",
                                   field="practice_id")
    npis = {s.provider_npi for s in plan.services}
    found = await repo.clinicians(practice_id, npis)
    if npis - set(found):
        raise DocumentFactsMissing("a provider of the estimate is not on file (name, credential)",
                                   field="services.provider_npi")
    patient = (await repo.people(practice_id, [row.patient_id])).get(row.patient_id)
    if patient is None:
        raise DocumentFactsMissing("the patient's name, date of birth and address are not on file",
                                   field="patient_id")
    today = kit.clock.today()
    policy = kit.rules.estimates.on(row.asked_on)
    practice = ProviderParty(profile.npi, profile.name, profile.tax_id, tuple(profile.address_lines), profile.phone)
    document = EstimateDocument(
        estimate_id=row.estimate_id, version=row.version, issued_on=today, patient_name=patient.name,
        patient_date_of_birth=patient.date_of_birth, patient_address=tuple(patient.address_lines), practice=practice,
        clinicians={n: ProviderParty(n, c.name, profile.tax_id, tuple(profile.address_lines), profile.phone,
                                     c.credential) for n, c in found.items()},
        plan=plan, first_service_date=row.first_service_date, covers_from=row.covers_from, covers_to=row.covers_to,
        notices=policy.notices, replaces_estimate_id=row.replaces_estimate_id)
    pdf = render_estimate(document)
    await repo.update_estimate(row.estimate_id, status="issued", content=document.as_document(), pdf=pdf,
                               pdf_sha256=hashlib.sha256(pdf).hexdigest(), issued_at=kit.clock.now(),
                               retain_until=retain_until(today, policy))
    if row.replaces_estimate_id:
        await repo.update_estimate(row.replaces_estimate_id, status="superseded")
    uow.announce(GoodFaithEstimateIssuedV1(
        estimate_id=row.estimate_id, practice_id=practice_id, patient_id=row.patient_id, version=row.version,
        replaces_estimate_id=row.replaces_estimate_id, total=from_cents(plan.total), covers_from=row.covers_from,
        covers_to=row.covers_to, due_by=row.due_by, issued_late=today > row.due_by), row.estimate_id)
    return await repo.estimate(practice_id, estimate_id)


async def reissue_estimate(uow: PatientBillingUnitOfWork, kit: DocumentKit, practice_id: str, estimate_id: str,
                           plan: EstimatePlan, first_service_date: date | None) -> Any:
    """The plan of care changed: a new version, issued now, superseding the one it replaces."""
    repo = DocumentsRepository(uow.session)
    current = await repo.estimate(practice_id, estimate_id, lock=True)
    if current is None:
        raise DocumentNotFound("no Good Faith Estimate with this id", field="estimate_id")
    if current.status != "issued":
        raise DocumentRefused(f"only an issued estimate is re-issued (this one is {current.status})",
                              field="estimate_id")
    new = await create_estimate(uow, kit, practice_id=practice_id, patient_id=current.patient_id, trigger="replan",
                                plan=plan, first_service_date=first_service_date or current.first_service_date,
                                replaces=current)
    return await issue_estimate(uow, kit, practice_id, new.estimate_id)


async def work_queue(session: AsyncSession, kit: DocumentKit, practice_id: str) -> list[dict[str, Any]]:
    """Estimates owed and not yet issued, soonest first, each with where it stands (late, due_today, due)."""
    today = kit.clock.today()
    business = business_days(kit, practice_id)
    rows = await DocumentsRepository(session).estimates_due(practice_id)
    return [{**estimate_view(r), "queue_state": queue_state(r.due_by, today, business),
             "business_days_left": business.between(today, r.due_by) if r.due_by > today else 0} for r in rows]


async def watch_charges(uow: PatientBillingUnitOfWork, kit: DocumentKit, practice_id: str, patient_id: str,
                        service_date: date) -> None:
    """The dispute watch, after a charge for ``patient_id`` dated ``service_date`` posts: per provider, what is
    billed in each issued estimate's course against what it estimated."""
    repo = DocumentsRepository(uow.session)
    covering = await repo.issued_estimates_covering(practice_id, patient_id, service_date, lock=True)
    if not covering:
        return
    charges = [(npi, day, amount) for npi, day, amount, _ in await repo.patient_charges(practice_id, patient_id)]
    for row in covering:
        policy = kit.rules.estimates.on(row.asked_on)
        plan = EstimatePlan.from_dict(row.plan)
        billed = billed_in_course(charges, row.covers_from, row.covers_to)
        announced = dict(row.watch or {})
        for signal in watch(plan.by_provider(), billed, announced, policy):
            announced[signal.provider_npi] = signal.state
            uow.announce(GoodFaithEstimateThresholdApproachedV1(
                estimate_id=row.estimate_id, practice_id=practice_id, patient_id=patient_id,
                provider_npi=signal.provider_npi, state=signal.state, estimated=from_cents(signal.estimated),
                billed=from_cents(signal.billed), threshold=from_cents(policy.threshold)), row.estimate_id)
        if announced != (row.watch or {}):
            await repo.update_estimate(row.estimate_id, watch=announced)


async def open_dispute(uow: PatientBillingUnitOfWork, kit: DocumentKit, *, practice_id: str, estimate_id: str,
                       provider_npi: str, bill_date: date, disputed: int) -> Any:
    """The patient disputes a bill above the estimate: within the window of the bill, at most what the bill
    exceeds the estimate by. The disputed amount is held on the provider's newest open charges in the course."""
    repo = DocumentsRepository(uow.session)
    row = await repo.estimate(practice_id, estimate_id, lock=True)
    if row is None or row.status == "due":
        raise DocumentNotFound("no issued Good Faith Estimate with this id", field="estimate_id")
    if await repo.open_dispute_for(practice_id, estimate_id, provider_npi) is not None:
        raise DocumentRefused("a dispute of this provider's bill is already open", field="provider_npi")
    policy = kit.rules.estimates.on(row.asked_on)
    plan = EstimatePlan.from_dict(row.plan)
    charges = await repo.patient_charges(practice_id, row.patient_id)
    billed = billed_in_course([(n, d, a) for n, d, a, _ in charges], row.covers_from, row.covers_to)
    today = kit.clock.today()
    check_dispute(bill_date=bill_date, opened_on=today, estimated=plan.by_provider().get(provider_npi, 0),
                  billed=billed.get(provider_npi, 0), disputed=disputed, policy=policy)
    account_id = await uow.accounts.account_id_for(practice_id, row.patient_id, today)
    if account_id is None:
        raise DocumentRefused("the patient has no account to hold the amount on", field="estimate_id")
    visits = sorted(((d, v) for n, d, _, v in charges if n == provider_npi and row.covers_from <= d <= row.covers_to),
                    reverse=True)
    dispute_id = new_id()
    items = await repo.open_items_of([account_id])
    by_visit = {i.visit_id: i for i in items[account_id] if i.visit_id}
    left, now = disputed, kit.clock.now()
    for _, visit_id in visits:
        item = by_visit.get(visit_id)
        if item is None or not left:
            continue
        take = min(left, item.open)
        await repo.place_hold(hold_id=new_id(), practice_id=practice_id, account_id=account_id, item_id=item.item_id,
                              kind="gfe_dispute", amount_cents=take, source_id=dispute_id, placed_at=now,
                              released_at=None)
        left -= take
    await repo.add_dispute(dispute_id=dispute_id, practice_id=practice_id, estimate_id=estimate_id,
                           patient_id=row.patient_id, account_id=account_id, provider_npi=provider_npi,
                           bill_date=bill_date, opened_on=today, disputed_cents=disputed, status="open",
                           resolved_on=None, resolution=None, created_at=now)
    # collections (dunning, late notices) skip an account with an open dispute: flagged until this one is resolved
    await uow.payments.set_dispute(practice_id, account_id, today, f"gfe-dispute:{dispute_id}", True)
    uow.announce(GoodFaithEstimateDisputeOpenedV1(
        dispute_id=dispute_id, estimate_id=estimate_id, practice_id=practice_id, patient_id=row.patient_id,
        account_id=account_id, provider_npi=provider_npi, bill_date=bill_date, disputed=from_cents(disputed)),
        estimate_id)
    return await repo.dispute(practice_id, dispute_id)


async def resolve_dispute(uow: PatientBillingUnitOfWork, kit: DocumentKit, practice_id: str, dispute_id: str,
                          resolution: str) -> Any:
    """The dispute is settled: the held amount is demanded again (an adjustment, if the practice agreed to the
    estimate, is posted on the ledger separately)."""
    repo = DocumentsRepository(uow.session)
    row = await repo.dispute(practice_id, dispute_id, lock=True)
    if row is None:
        raise DocumentNotFound("no dispute with this id", field="dispute_id")
    if row.status != "open":
        raise DocumentRefused("the dispute is already resolved", field="dispute_id")
    await repo.release_holds(practice_id, dispute_id, kit.clock.now())
    if await repo.collections_dispute_reason(practice_id, row.account_id) == f"gfe-dispute:{dispute_id}":
        await uow.payments.set_dispute(practice_id, row.account_id, kit.clock.today(), f"gfe-dispute:{dispute_id}",
                                       False)
    await repo.update_dispute(dispute_id, status="resolved", resolved_on=kit.clock.today(), resolution=resolution)
    return await repo.dispute(practice_id, dispute_id)


def estimate_view(row: Any) -> dict[str, Any]:
    return {"estimate_id": row.estimate_id, "patient_id": row.patient_id, "status": row.status,
            "trigger": row.trigger, "asked_on": row.asked_on, "first_service_date": row.first_service_date,
            "due_by": row.due_by, "required": bool(row.plan.get("required", True)), "version": row.version,
            "replaces_estimate_id": row.replaces_estimate_id, "covers_from": row.covers_from,
            "covers_to": row.covers_to, "total": from_cents(row.total_cents),
            "issued_at": row.issued_at, "retain_until": row.retain_until, "watch": row.watch or {},
            "pdf_sha256": row.pdf_sha256}


def dispute_view(row: Any) -> dict[str, Any]:
    return {"dispute_id": row.dispute_id, "estimate_id": row.estimate_id, "patient_id": row.patient_id,
            "account_id": row.account_id, "provider_npi": row.provider_npi, "bill_date": row.bill_date,
            "opened_on": row.opened_on, "disputed": from_cents(row.disputed_cents), "status": row.status,
            "resolved_on": row.resolved_on, "resolution": row.resolution}

