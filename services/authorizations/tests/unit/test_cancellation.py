"""A payer's cancellation of a certification: what the ledger still lets it cover, by the payer's rule (data)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta

import pytest
from authorizations.bootstrap import load_rulebook
from authorizations.domain.cancellation import CancellationRules
from authorizations.domain.ledger import AuthorizationLedger, MissingReason, UnitConsumed, UnitReleased, VisitCompleted
from authorizations.domain.model import Authorization, AuthorizationStatus, VisitFacts
from authorizations.domain.requirements import AuthorizationRequirement, PayerAuthorizationRules

START, END, CANCELLED_ON = date(2026, 1, 1), date(2026, 6, 30), date(2026, 3, 2)
CERTIFIED = Authorization("AUTH1", "P1", "PAY", frozenset({"90837"}), 10, START, END)
REQUIRED = PayerAuthorizationRules((AuthorizationRequirement("PAY", True),))


def visit(visit_id: str, day: date) -> VisitCompleted:
    return VisitCompleted(visit_id, 1, VisitFacts("P1", "PAY", day, "90837"))


def cancelled(covered_through: date) -> Authorization:
    return replace(CERTIFIED, status=AuthorizationStatus.CANCELLED, covered_through=covered_through)


def test_cancelling_returns_the_units_of_later_visits_and_keeps_earlier_ones() -> None:
    ledger = AuthorizationLedger(rules=REQUIRED)
    ledger.add_authorization(CERTIFIED)
    ledger.apply_all([visit("before", CANCELLED_ON - timedelta(days=7)), visit("on", CANCELLED_ON),
                      visit("after", CANCELLED_ON + timedelta(days=7))])
    assert ledger.balance("AUTH1").used == 3
    changes = ledger.add_authorization(cancelled(CANCELLED_ON))
    assert changes[0] == UnitReleased("after", "AUTH1") and not any(isinstance(c, UnitConsumed) for c in changes)
    assert ledger.allocations() == {"before": "AUTH1", "on": "AUTH1"}
    assert [(f.visit_id, f.reason) for f in ledger.findings()] == [("after", MissingReason.CANCELLED)]
    assert ledger.status_of("AUTH1", CANCELLED_ON) is AuthorizationStatus.CANCELLED
    ledger.apply(visit("later", CANCELLED_ON + timedelta(days=1)))
    assert ledger.allocation_of("later") is None, "no further units are consumed"


def test_whether_the_cancellation_day_is_covered_is_the_payers_rule() -> None:
    rules = load_rulebook().ledger.cancellation
    assert rules.covered_through("ANY", CANCELLED_ON) == CANCELLED_ON
    assert rules.covered_through("SBXUM", CANCELLED_ON) == CANCELLED_ON - timedelta(days=1)
    assert rules.covered_through("SBXUM", date(2024, 6, 1)) == date(2024, 6, 1), "before the payer's rule began"
    ledger = AuthorizationLedger(rules=REQUIRED)
    ledger.add_authorization(cancelled(rules.covered_through("SBXUM", CANCELLED_ON)))
    ledger.apply(visit("on", CANCELLED_ON))
    assert ledger.allocation_of("on") is None


@pytest.mark.parametrize("data", [{}, {"rules": [{"payer_id": "*"}]},
                                  {"rules": [{"payer_id": "*", "covers_cancellation_day": True}]}])
def test_malformed_cancellation_rules_are_refused(data: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"cancellation\.yaml"):
        CancellationRules.from_dict(data)
