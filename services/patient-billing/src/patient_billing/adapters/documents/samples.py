"""Sample documents (made-up people, no real PHI): what ``rcm documents sample statement|superbill|gfe`` prints,
and what the documents tests read back field by field. Built through the same domain code and renderers as the
real ones."""

from __future__ import annotations

from datetime import date

from patient_billing.domain.estimates import (
    EstimateDocument,
    EstimatePlan,
    EstimateRules,
    ExpectedService,
    ProviderParty,
    course_end,
)
from patient_billing.domain.ledger import EntryKind, OpenItem, ReasonLine
from patient_billing.domain.statements import (
    Hold,
    InsuranceFacts,
    ItemFacts,
    Movement,
    Party,
    PracticeHeader,
    Statement,
    StatementRules,
    build_statement,
)
from patient_billing.domain.superbills import CodedLine, Superbill, SuperbillVisit, VisitCoding

PRACTICE = PracticeHeader(practice_id="practice-sample", name="Riverside Counseling Group",
                          address_lines=("120 Main Street, Suite 4", "Springfield, IL 62701"),
                          phone="(217) 555-0142", npi="1245319599", tax_id="123456789")
GUARANTOR = Party("Jordan Avery", ("48 Elm Court", "Springfield, IL 62704"))
PATIENTS = {"pt-sample-1": "Jordan Avery", "pt-sample-2": "Sam Avery"}
STATEMENT_DATE = date(2026, 12, 1)


def sample_statement(rules: StatementRules, payment_url: str = "http://127.0.0.1:8011/pay/pl_sample",
                     portal_url: str = "http://127.0.0.1:8004/portal/documents/sample") -> Statement:
    """A family account: an insured visit with deductible and copay, a self-pay visit, a missed-appointment fee
    under a dispute hold, a visit still with the payer, and a payment in the period."""
    items = [
        OpenItem("item-resp-1", "pt-sample-1", date(2026, 10, 6), 12_000, 12_000, EntryKind.RESPONSIBILITY,
                 claim_id="claim-1"),
        OpenItem("item-resp-2", "pt-sample-2", date(2026, 11, 3), 3_000, 1_000, EntryKind.RESPONSIBILITY,
                 claim_id="claim-2"),
        OpenItem("item-charge-3", "pt-sample-2", date(2026, 11, 17), 16_000, 16_000, EntryKind.CHARGE),
        OpenItem("item-fee-4", "pt-sample-1", date(2026, 8, 4), 7_500, 7_500, EntryKind.FEE),
    ]
    facts = {
        "item-resp-1": ItemFacts(reasons=(ReasonLine("deductible", "1", 9_000, ""),
                                          ReasonLine("coinsurance", "2", 3_000, "")),
                                 description="Psychotherapy, 53+ min (90837)"),
        "item-resp-2": ItemFacts(reasons=(ReasonLine("copay", "3", 3_000, ""),),
                                 description="Psychotherapy, 38-52 min (90834)"),
        "item-charge-3": ItemFacts(description="Psychotherapy, 53+ min (90837), self-pay"),
    }
    rules_ = rules
    cycle = rules_.cycle_on(STATEMENT_DATE)
    return build_statement(
        statement_id="stmt-sample-0001", practice=PRACTICE, account_id="a1b2c3d4-sample", guarantor_id="pt-sample-1",
        guarantor=GUARANTOR, statement_date=STATEMENT_DATE, period_start=date(2026, 11, 1), cycle=cycle,
        open_items=items, credits=[], balance=sum(i.open for i in items),
        pending_visits=[("pt-sample-1", date(2026, 11, 24))], item_facts=facts,
        insurance={"claim-1": InsuranceFacts(charge=20_000, paid=0, adjusted=8_000),
                   "claim-2": InsuranceFacts(charge=18_000, paid=9_800, adjusted=5_200)},
        holds=[Hold("gfe_dispute", "item-charge-3", 6_000)],
        activity=[Movement(date(2026, 11, 10), "payment", -2_000, "Payment received, thank you (card)")],
        patient_names=PATIENTS, rules=rules_, payment_url=payment_url, portal_url=portal_url)


CLINICIAN = ProviderParty(npi="1234567893", name="Morgan Lee", tax_id="123456789",
                          address_lines=PRACTICE.address_lines, phone=PRACTICE.phone, credential="LCSW")
PRACTICE_PARTY = ProviderParty(npi=PRACTICE.npi, name=PRACTICE.name, tax_id=PRACTICE.tax_id,
                               address_lines=PRACTICE.address_lines, phone=PRACTICE.phone)


def sample_superbill(variant: str = "superbill") -> Superbill:
    """Two self-pay visits in November, coded as claims codes them (an intake and a telehealth follow-up)."""
    visits = (
        SuperbillVisit(VisitCoding("visit-sample-1", "pt-sample-1", date(2026, 11, 3), CLINICIAN.npi,
                                   (CodedLine("90791", (), 1),), ("F41.1",), "11"), 20_000, 20_000),
        SuperbillVisit(VisitCoding("visit-sample-2", "pt-sample-1", date(2026, 11, 17), CLINICIAN.npi,
                                   (CodedLine("90837", ("95",), 1),), ("F41.1", "F32.1"), "10"), 16_000, 6_000),
    )
    return Superbill(superbill_id="sb-sample-0001", variant=variant, issued_on=STATEMENT_DATE,
                     practice=PRACTICE_PARTY, clinicians={CLINICIAN.npi: CLINICIAN},
                     license_numbers={CLINICIAN.npi: "IL 149.012345"}, patient_name="Jordan Avery",
                     patient_date_of_birth=date(1988, 4, 12), patient_address=GUARANTOR.address_lines, visits=visits)


def sample_estimate(rules: EstimateRules) -> EstimateDocument:
    """Weekly psychotherapy for a self-pay client after an intake: the 12-month course."""
    policy = rules.on(STATEMENT_DATE)
    plan = EstimatePlan((
        ExpectedService(CLINICIAN.npi, "90791", "Psychiatric diagnostic evaluation (intake)", 1, 20_000),
        ExpectedService(CLINICIAN.npi, "90837", "Psychotherapy, 60 minutes", 24, 16_000),
    ), diagnoses=("F41.1",), reason="Anxiety: weekly psychotherapy for about six months")
    start = date(2026, 12, 14)
    return EstimateDocument(
        estimate_id="gfe-sample-0001", version=1, issued_on=STATEMENT_DATE, patient_name="Jordan Avery",
        patient_date_of_birth=date(1988, 4, 12), patient_address=GUARANTOR.address_lines, practice=PRACTICE_PARTY,
        clinicians={CLINICIAN.npi: CLINICIAN}, plan=plan, first_service_date=start, covers_from=start,
        covers_to=course_end(start, policy), notices=policy.notices)
