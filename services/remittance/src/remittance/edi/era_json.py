"""JSON-ready view of parsed 835s (for ``rcm x12 read FILE`` and debugging): only str, int, bool, list, dict.

Public API::

    to_json_dict(remittances: Iterable[Remittance]) -> dict[str, object]

Amounts are strings (exact decimals), dates ISO strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from remittance.domain.model import (
    Adjustment,
    BalanceIssue,
    ClaimPayment,
    Party,
    Remittance,
    ServiceLine,
)

Json = dict[str, object]


def _money(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def _adjustment(a: Adjustment) -> Json:
    return {"group": a.group, "reason": a.reason, "amount": str(a.amount), "quantity": _money(a.quantity)}


def _issue(issue: BalanceIssue) -> Json:
    return {
        "rule": issue.rule, "transaction_control_number": issue.transaction_control_number,
        "claim_ordinal": issue.claim_ordinal, "patient_control_number": issue.patient_control_number,
        "line_ordinal": issue.line_ordinal, "expected": str(issue.expected), "actual": str(issue.actual),
        "description": issue.describe(),
    }


def _party(party: Party | None) -> Json | None:
    if party is None:
        return None
    return {
        "entity": party.entity, "name": party.name, "id_qualifier": party.id_qualifier,
        "identifier": party.identifier, "address_lines": party.address_lines, "city": party.city,
        "state": party.state, "postal_code": party.postal_code, "references": party.references,
        "contacts": [{"function": c.function, "name": c.name, "channels": [list(x) for x in c.channels]}
                     for c in party.contacts],
    }


def _line(line: ServiceLine) -> Json:
    original = line.original_procedure
    return {
        "ordinal": line.ordinal, "procedure": line.procedure.code, "qualifier": line.procedure.qualifier,
        "modifiers": list(line.procedure.modifiers), "revenue_code": line.revenue_code,
        "original_procedure": original.as_text() if original else None,
        "charge": str(line.charge), "paid": str(line.paid), "units_paid": str(line.units_paid),
        "adjustments": [_adjustment(a) for a in line.adjustments],
        "dates": {k: v.isoformat() for k, v in line.dates.items()},
        "amounts": {k: str(v) for k, v in line.amounts.items()},
        "quantities": {k: str(v) for k, v in line.quantities.items()},
        "references": line.references, "remarks": line.remarks,
    }


def _claim(claim: ClaimPayment) -> Json:
    return {
        "ordinal": claim.ordinal, "header_number": claim.header_number,
        "patient_control_number": claim.patient_control_number, "status_code": claim.status_code,
        "charge": str(claim.charge), "paid": str(claim.paid),
        "patient_responsibility": _money(claim.patient_responsibility),
        "claim_filing_indicator": claim.claim_filing_indicator, "payer_claim_number": claim.payer_claim_number,
        "facility_type": claim.facility_type, "frequency_code": claim.frequency_code,
        "adjustments": [_adjustment(a) for a in claim.adjustments],
        "names": {k: v._asdict() for k, v in claim.names.items()},
        "dates": {k: v.isoformat() for k, v in claim.dates.items()},
        "amounts": {k: str(v) for k, v in claim.amounts.items()},
        "quantities": {k: str(v) for k, v in claim.quantities.items()},
        "references": claim.references, "remarks": claim.remarks,
        "lines": [_line(line) for line in claim.lines],
        "balanced": claim.is_balanced,
    }


def to_json_dict(remittances: Iterable[Remittance]) -> Json:
    transactions = []
    balanced = True
    for r in remittances:
        h, s = r.header, r.summary
        balanced = balanced and s.is_balanced
        transactions.append({
            "transaction_control_number": h.transaction_control_number,
            "interchange_control_number": h.interchange_control_number,
            "sender_id": h.sender_id, "receiver_id": h.receiver_id, "version": h.version,
            "payment": {
                "handling_code": h.handling_code, "total_paid": str(h.total_paid), "credit_debit": h.credit_debit,
                "method": h.payment_method, "format": h.payment_format, "date": _day(h.payment_date),
                "trace_number": h.trace_number, "payer_identifier": h.payer_identifier,
            },
            "production_date": _day(h.production_date), "references": h.references or {},
            "payer": _party(h.payer), "payee": _party(h.payee),
            "claims": [_claim(c) for c in r.claims],
            "provider_adjustments": [
                {"provider_identifier": p.provider_identifier, "fiscal_period_date": _day(p.fiscal_period_date),
                 "reason": p.reason, "reference": p.reference, "amount": str(p.amount)}
                for p in s.provider_adjustments
            ],
            "totals": {
                "claim_count": s.claim_count, "line_count": s.line_count, "total_charge": str(s.total_charge),
                "total_claim_paid": str(s.total_claim_paid),
                "provider_adjustment_total": str(s.provider_adjustment_total), "total_paid": str(s.total_paid),
            },
            "balancing": {"balanced": s.is_balanced, "issues": [_issue(i) for i in s.balance_issues]},
        })
    return {"transactions": transactions, "balanced": balanced}
