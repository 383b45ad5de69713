"""Builders for the claims domain tests: the packaged rulebook, visits, parties and claims."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime
from decimal import Decimal
from importlib import resources
from types import SimpleNamespace
from typing import Any

import pytest
from claims.domain.coding import ChargeCoder, draft_claim
from claims.domain.model import (
    Address,
    Adjustment,
    BillingProvider,
    Claim,
    ClaimLine,
    Clinician,
    CompletedVisit,
    LineAdjudication,
    OtherPayerAdjudication,
    PatientParty,
    PayerRef,
    Person,
    ServiceKind,
    Subscriber,
)
from claims.domain.rulebook import Rulebook
from claims.edi.x12_837 import InterchangeHeader, Receiver, Submitter

RULES = resources.files("claims.domain").joinpath("rules")
BILLING_NPI = "1234567893"
RENDERING_NPI = "1245319599"
SUPERVISOR_NPI = "1003000126"


def rules_text() -> tuple[str, str, str]:
    return tuple(RULES.joinpath(f"{n}.yaml").read_text() for n in ("coding", "payers", "fees"))  # type: ignore[return-value]


_RULEBOOK = Rulebook.from_yaml(*rules_text())


def clinician(credential: str = "LCSW", npi: str = RENDERING_NPI, **kw: Any) -> Clinician:
    return Clinician(npi=npi, credential=credential, last_name=kw.get("last", "RIVERA"),
                     first_name=kw.get("first", "ANA"), taxonomy=kw.get("taxonomy", "1041C0700X"))


def visit(kind: ServiceKind = ServiceKind.PSYCHOTHERAPY, minutes: int = 53, **kw: Any) -> CompletedVisit:
    fields: dict[str, Any] = {
        "visit_id": "v-1", "date_of_service": date(2024, 3, 4), "payer_id": "ACME", "diagnoses": ("F41.1", "F32.1"),
        "service_kind": kind, "rendering": clinician(), "psychotherapy_minutes": minutes,
    }
    fields.update(kw)
    return CompletedVisit(**fields)


ADDRESS = Address("12 MAIN ST", "SPRINGFIELD", "IL", "627011234")
BILLING = BillingProvider("CALM MINDS GROUP", BILLING_NPI, "123456789", ADDRESS, "261QM0801X")
PAYER = PayerRef("ACME", "ACME COMMERCIAL HEALTH")
SUBSCRIBER = Subscriber("W123456789", Person("DOE", "JANE", date(1980, 5, 6), "F", ADDRESS), "GRP1")
CHILD = PatientParty("19", Person("DOE", "SAM", date(2012, 7, 8), "M", ADDRESS))


def claim(**kw: Any) -> Claim:
    """A clean original claim: subscriber is the patient, one 90837 line, ACME, 2024-03-04."""
    fields: dict[str, Any] = {
        "claim_id": "c-1", "patient_control_number": "PCN0001", "payer": PAYER, "billing_provider": BILLING,
        "subscriber": SUBSCRIBER, "rendering": clinician(), "date_of_service": date(2024, 3, 4),
        "place_of_service": "11", "diagnoses": ("F411", "F321"), "prior_authorization": "AUTH77",
        "lines": (ClaimLine("90837", Decimal("200.00"), 1, (), (1, 2)),),
    }
    fields.update(kw)
    return Claim.draft(at=datetime(2024, 3, 5, 9, 0), **fields)


def secondary_claim(**kw: Any) -> Claim:
    primary = OtherPayerAdjudication(
        payer=PayerRef("MEDICARE", "MEDICARE PART B"),
        subscriber=Subscriber("1EG4TE5MK73", SUBSCRIBER.person, "", "MB"),
        paid=Decimal("120.00"), adjudicated_on=date(2024, 4, 1),
        claim_adjustments=(Adjustment("PR", "2", Decimal("30.00")),),
        lines=(
            LineAdjudication(1, "90837", Decimal("120.00"), 1, date(2024, 4, 1), (),
                             (Adjustment("CO", "45", Decimal("50.00")), Adjustment("PR", "1", Decimal("30.00")))),
        ),
    )
    sub = replace(SUBSCRIBER, payer_responsibility="S")
    return claim(subscriber=sub, other_payer=primary, **kw)


def header(**kw: Any) -> InterchangeHeader:
    fields: dict[str, Any] = {
        "sender_id": "RCMPLATFORM", "receiver_id": "CLEARINGHOUSE", "interchange_control_number": 101,
        "group_control_number": 7, "created": datetime(2024, 3, 6, 14, 30),
        "submitter": Submitter("CALM MINDS GROUP", "SUB123", "BILLING OFFICE", "5555551234"),
        "receiver": Receiver("CLEARINGHOUSE INC", "CH0001"),
    }
    fields.update(kw)
    return InterchangeHeader(**fields)


@pytest.fixture(scope="session")
def rulebook() -> Rulebook:
    return _RULEBOOK


@pytest.fixture(scope="session")
def coder() -> ChargeCoder:
    return ChargeCoder(_RULEBOOK)


@pytest.fixture(scope="session")
def build() -> SimpleNamespace:
    """Builder functions (session-scoped so hypothesis tests may use them)."""
    make_draft: Callable[..., Claim] = draft_claim
    return SimpleNamespace(
        visit=visit, clinician=clinician, claim=claim, secondary_claim=secondary_claim, header=header,
        rules_text=rules_text, draft_claim=make_draft, BILLING=BILLING, PAYER=PAYER, SUBSCRIBER=SUBSCRIBER,
        CHILD=CHILD, ADDRESS=ADDRESS, BILLING_NPI=BILLING_NPI, RENDERING_NPI=RENDERING_NPI,
        SUPERVISOR_NPI=SUPERVISOR_NPI,
    )
