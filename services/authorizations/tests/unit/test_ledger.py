"""AuthorizationLedger: matching, exactly-once consumption, corrections, voids, reordering."""

from __future__ import annotations

import random
from datetime import date, timedelta

from authorizations.bootstrap import load_rulebook
from authorizations.domain.ledger import (
    AuthorizationExhausted,
    AuthorizationLedger,
    MissingAuthorizationFound,
    MissingReason,
    UnitConsumed,
    UnitReleased,
    VisitCompleted,
    VisitCorrected,
    VisitEvent,
    VisitVoided,
)
from authorizations.domain.model import Authorization, AuthorizationStatus, VisitFacts
from authorizations.domain.requirements import AuthorizationRequirement, PayerAuthorizationRules
from hypothesis import given, settings
from hypothesis import strategies as st

THERAPY = frozenset({"90834", "90837"})
REQUIRED = PayerAuthorizationRules((AuthorizationRequirement("PAY", True),))


def auth(number: str, start: date, end: date, units: int, status: AuthorizationStatus = AuthorizationStatus.APPROVED,
         codes: frozenset[str] = THERAPY) -> Authorization:
    return Authorization(number, "P1", "PAY", codes, units, start, end, status)


def visit(day: date, cpt: str = "90837", patient: str = "P1", payer: str = "PAY") -> VisitFacts:
    return VisitFacts(patient, payer, day, cpt)


def test_consumes_from_the_authorization_ending_soonest_exactly_once() -> None:
    ledger = AuthorizationLedger(rules=REQUIRED)
    ledger.add_authorization(auth("LONG", date(2026, 1, 1), date(2026, 12, 31), 10))
    ledger.add_authorization(auth("SHORT", date(2026, 1, 1), date(2026, 3, 31), 2))
    changes = ledger.apply(VisitCompleted("v1", 1, visit(date(2026, 2, 1))))
    assert changes == [UnitConsumed("v1", "SHORT")]
    assert ledger.apply(VisitCompleted("v1", 1, visit(date(2026, 2, 1)))) == []  # duplicate delivery
    assert ledger.balance("SHORT").used == 1 and ledger.balance("LONG").used == 0


def test_exhaustion_spills_to_the_next_matching_authorization_then_raises_a_finding() -> None:
    ledger = AuthorizationLedger(rules=REQUIRED)
    ledger.add_authorization(auth("A", date(2026, 1, 1), date(2026, 3, 31), 1))
    ledger.add_authorization(auth("B", date(2026, 1, 1), date(2026, 6, 30), 1))
    first = ledger.apply(VisitCompleted("v1", 1, visit(date(2026, 2, 1))))
    assert AuthorizationExhausted("A") in first
    ledger.apply(VisitCompleted("v2", 1, visit(date(2026, 2, 8))))
    assert ledger.allocation_of("v2") == "B"
    changes = ledger.apply(VisitCompleted("v3", 1, visit(date(2026, 2, 15))))
    (found,) = [c for c in changes if isinstance(c, MissingAuthorizationFound)]
    assert found.finding.reason is MissingReason.UNITS_EXHAUSTED
    assert ledger.balance("A").remaining == 0 and ledger.balance("B").remaining == 0
    assert ledger.status_of("A", date(2026, 2, 20)) is AuthorizationStatus.EXHAUSTED


def test_correction_moves_the_consumption_and_void_gives_it_back() -> None:
    ledger = AuthorizationLedger(rules=REQUIRED)
    ledger.add_authorization(auth("Q1", date(2026, 1, 1), date(2026, 3, 31), 5))
    ledger.add_authorization(auth("Q2", date(2026, 4, 1), date(2026, 6, 30), 5))
    ledger.apply(VisitCompleted("v1", 1, visit(date(2026, 3, 30))))
    changes = ledger.apply(VisitCorrected("v1", 2, visit(date(2026, 4, 2))))  # wrong date fixed
    assert changes == [UnitReleased("v1", "Q1"), UnitConsumed("v1", "Q2")]
    assert ledger.apply(VisitCorrected("v1", 1, visit(date(2026, 3, 30)))) == []  # stale revision ignored
    assert ledger.apply(VisitVoided("v1")) == [UnitReleased("v1", "Q2")]
    assert ledger.balance("Q2").used == 0


def test_void_before_completion_converges() -> None:
    ledger = AuthorizationLedger(rules=REQUIRED)
    ledger.add_authorization(auth("A", date(2026, 1, 1), date(2026, 3, 31), 5))
    ledger.apply(VisitVoided("v1"))
    assert ledger.apply(VisitCompleted("v1", 1, visit(date(2026, 2, 1)))) == []
    assert ledger.balance("A").used == 0 and ledger.findings() == []


def test_missing_authorization_reasons_and_payer_rules() -> None:
    rules = PayerAuthorizationRules.from_dict({"requirements": [
        {"payer_id": "PAY", "requires_authorization": True, "cpt_codes": [], "effective_from": "2026-01-01"},
        {"payer_id": "PAY", "requires_authorization": False, "cpt_codes": ["90791"], "effective_from": "2026-01-01"},
    ]})
    ledger = AuthorizationLedger(rules=rules)
    ledger.apply(VisitCompleted("eval", 1, visit(date(2026, 1, 5), "90791")))
    ledger.apply(VisitCompleted("none", 1, visit(date(2026, 1, 6))))
    ledger.apply(VisitCompleted("other-payer", 1, visit(date(2026, 1, 6), payer="ELSE")))
    assert [(f.visit_id, f.reason) for f in ledger.findings()] == [("none", MissingReason.NONE_ON_FILE)]
    ledger.add_authorization(auth("A", date(2026, 2, 1), date(2026, 3, 31), 5))
    ledger.add_authorization(auth("REQ", date(2026, 1, 1), date(2026, 1, 31), 5, AuthorizationStatus.REQUESTED))
    assert ledger.findings()[0].reason is MissingReason.NOT_APPROVED
    ledger.apply(VisitCompleted("group", 1, visit(date(2026, 2, 3), "90853")))
    ledger.apply(VisitCompleted("late", 1, visit(date(2026, 4, 3))))
    reasons = {f.visit_id: f.reason for f in ledger.findings()}
    assert reasons["group"] is MissingReason.CPT_NOT_COVERED and reasons["late"] is MissingReason.OUTSIDE_DATES
    ledger.add_authorization(auth("REQ", date(2026, 1, 1), date(2026, 1, 31), 5))  # the payer approved it
    assert "none" not in {f.visit_id for f in ledger.findings()} and ledger.allocation_of("none") == "REQ"


def test_shipped_payer_rules_load() -> None:
    rules = load_rulebook().ledger.requirements
    assert rules.requires("SBXHP", "90837", date(2026, 1, 1))
    assert not rules.requires("SBXHP", "90791", date(2026, 1, 1))
    assert not rules.requires("SBXHP", "90837", date(2023, 12, 31))
    assert not rules.requires("ANY", "90837", date(2026, 1, 1))
    # the one home of prior-authorization requirements holds what claims' payers.yaml used to say about ACME
    assert rules.requires("ACME", "90837", date(2026, 1, 1)) and rules.requires("ACME", "90791", date(2023, 1, 1))
    assert not rules.requires("ACME", "90837", date(2022, 12, 31))


# ------------------------------------------------------------------------------------------------ properties

AUTHS = (
    auth("A", date(2026, 1, 1), date(2026, 1, 31), 2),
    auth("B", date(2026, 1, 10), date(2026, 2, 28), 3),
    auth("C", date(2026, 2, 1), date(2026, 3, 31), 2, codes=frozenset({"90837"})),
)
facts_strategy = st.builds(
    VisitFacts, patient_id=st.just("P1"), payer_id=st.sampled_from(["PAY", "PAY", "OTHER"]),
    service_date=st.integers(0, 100).map(lambda d: date(2026, 1, 1) + timedelta(days=d)),
    cpt_code=st.sampled_from(["90834", "90837", "90853"]),
)


@st.composite
def histories(draw: st.DrawFn) -> list[VisitEvent]:
    events: list[VisitEvent] = []
    for i in range(draw(st.integers(1, 9))):
        visit_id = f"v{i}"
        events.append(VisitCompleted(visit_id, 1, draw(facts_strategy)))
        for revision in range(2, 2 + draw(st.integers(0, 2))):
            events.append(VisitCorrected(visit_id, revision, draw(facts_strategy)))
        if draw(st.booleans()) and draw(st.booleans()):
            events.append(VisitVoided(visit_id))
    return events


def _state(events: list[VisitEvent]) -> tuple[object, ...]:
    ledger = AuthorizationLedger(rules=REQUIRED)
    for a in AUTHS:
        ledger.add_authorization(a)
    ledger.apply_all(events)
    return ledger.allocations(), ledger.balances(), ledger.findings(), ledger


@settings(max_examples=200, deadline=None)
@given(histories(), st.randoms(use_true_random=False), st.data())
def test_any_interleaving_with_duplicates_converges_to_the_canonical_order(
    events: list[VisitEvent], rnd: random.Random, data: st.DataObject
) -> None:
    canonical = _state(events)
    noisy = events + data.draw(st.lists(st.sampled_from(events), max_size=6))  # duplicates
    rnd.shuffle(noisy)
    shuffled = _state(noisy)
    assert shuffled[:3] == canonical[:3]
    ledger = shuffled[3]
    assert isinstance(ledger, AuthorizationLedger)
    live = ledger.live_visits()
    findings = {f.visit_id for f in ledger.findings()}
    for number, balance in ledger.balances().items():
        assert 0 <= balance.used <= balance.approved, number
    for visit_id, facts in live.items():
        allocated = ledger.allocation_of(visit_id)
        if allocated is not None:
            assert ledger.authorization(allocated).covers(facts)
            assert visit_id not in findings
        elif facts.payer_id == "PAY":  # REQUIRED covers payer PAY only
            assert visit_id in findings
    assert set(ledger.allocations()) <= set(live)


@settings(max_examples=100, deadline=None)
@given(histories())
def test_change_events_replay_to_the_same_balances(events: list[VisitEvent]) -> None:
    ledger = AuthorizationLedger(rules=REQUIRED)
    changes = [c for a in AUTHS for c in ledger.add_authorization(a)]
    changes += ledger.apply_all(events)
    held: dict[str, str] = {}
    for change in changes:  # a consumer that only sees the change events must rebuild the allocations
        if isinstance(change, UnitConsumed):
            assert change.visit_id not in held
            held[change.visit_id] = change.authorization_number
        elif isinstance(change, UnitReleased):
            assert held.pop(change.visit_id) == change.authorization_number
    assert held == ledger.allocations()


@settings(max_examples=200, deadline=None)
@given(histories())
def test_restoring_the_stored_state_at_once_gives_the_same_ledger(events: list[VisitEvent]) -> None:
    """The unit of work loads a ledger in bulk (``restore``): it must be the ledger the events built one by one."""
    built = _state(events)[3]
    assert isinstance(built, AuthorizationLedger)
    stored = [(v, revision, facts, False) for v, (revision, facts) in built._visits.items()]
    stored += [(v, 1, VisitFacts("P1", "PAY", date(2026, 1, 1), "90834"), True) for v in built._voided]
    restored = AuthorizationLedger(rules=REQUIRED)
    restored.restore(reversed(AUTHS), reversed(stored))
    assert restored.allocations() == built.allocations() and restored.findings() == built.findings()
    assert restored.balances() == built.balances()
    restored.apply(VisitCompleted("late", 1, VisitFacts("P1", "PAY", date(2026, 1, 15), "90837")))
    built.apply(VisitCompleted("late", 1, VisitFacts("P1", "PAY", date(2026, 1, 15), "90837")))
    assert restored.allocations() == built.allocations(), "and it goes on changing as the other would"
