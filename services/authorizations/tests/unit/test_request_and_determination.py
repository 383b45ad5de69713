"""The small aggregates: a prior-authorization request refuses moves its review cannot make; a visit's
determination numbers only answers that changed."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from authorizations.domain.determination import Determination, DeterminationRules, VisitDetermination
from authorizations.domain.events import ProviderDecided, VisitAuthorizationDetermined
from authorizations.domain.exceptions import ReviewConflict
from authorizations.domain.model import (
    AuthorizationRequest,
    PriorAuthorizationRequest,
    RequestDecision,
    RequestedService,
)
from rcm_shared.rules import RulesError

AT = datetime(2026, 12, 3, 1, 8, tzinfo=UTC)
D = RequestDecision


def sent(decision: RequestDecision = D.SENT) -> PriorAuthorizationRequest:
    asked = AuthorizationRequest("SBXHP", "PLAN", "1245319599", "GROUP", "SBX1", "EXAMPLE", "CASEY", None,
                                 "1234567893", "RIVERA", "JO", ("F411",), (RequestedService("90837", 4),),
                                 date(2026, 12, 1), date(2027, 1, 31), "TRACE1")
    return PriorAuthorizationRequest("r-1", "practice-a", "pt-1", asked, "sandbox", "ISA*...", AT,
                                     decision=decision)


@pytest.mark.parametrize(("before", "answer", "allowed"), [
    *((D.SENT, d, True) for d in D if d is not D.SENT),
    *((D.PENDED, d, True) for d in D if d is not D.SENT),  # pended again, decided, rejected, cancelled ...
    *((D.UNREADABLE, d, True) for d in D if d is not D.SENT),
    (D.APPROVED, D.CANCELLED, True), (D.MODIFIED, D.CANCELLED, True),
    (D.APPROVED, D.APPROVED, False), (D.APPROVED, D.DENIED, False), (D.MODIFIED, D.PENDED, False),
    *((d, a, False) for d in (D.DENIED, D.REJECTED, D.CANCELLED, D.NOT_REQUIRED) for a in (D.APPROVED, D.CANCELLED)),
    (D.PENDED, D.SENT, False),
])
def test_a_review_takes_only_the_answers_its_state_allows(before: RequestDecision, answer: RequestDecision,
                                                          allowed: bool) -> None:
    request = sent(before)
    if allowed:
        request.record_answer(answer, at=AT, authorization_number="CERT-1")
        assert request.decision is answer
        assert (request.decided_at is None) == (answer is D.PENDED), "a pended review stays open"
    else:
        with pytest.raises(ReviewConflict, match=f"already {before.value}"):
            request.record_answer(answer, at=AT)
        assert request.decision is before


def answer(number: str | None, allowed: bool = True) -> Determination:
    return Determination("pt-1", "SBXHP", date(2026, 12, 1), True, "a-1" if number else None, number,
                         None if number else "none_on_file",
                         (ProviderDecided("rendering", "1234567893", allowed, "enrolled", "1234567893"),),
                         "1234567893" if allowed else None, None)


def test_a_determination_is_announced_only_when_the_answer_changes() -> None:
    visit = VisitDetermination("practice-a", "v-1")
    assert visit.decide(answer(None), units_remaining=None, at=AT, rules_version="r1")
    assert not visit.decide(answer(None), units_remaining=None, at=AT, rules_version="r2"), "same answer"
    assert visit.decide(answer("AUTH-1"), units_remaining=3, at=AT, rules_version="r2")
    assert not visit.decide(answer("AUTH-1"), units_remaining=2, at=AT, rules_version="r2"), \
        "units left are carried, not compared: another visit taking a unit re-announces nothing"
    events = visit.pull_events()
    assert [(e.sequence, e.authorization_number, e.units_remaining) for e in events] == [(1, None, None),
                                                                                        (2, "AUTH-1", 3)]
    assert all(isinstance(e, VisitAuthorizationDetermined) for e in events) and visit.pull_events() == []


def test_an_answer_survives_its_stored_form() -> None:
    kept = answer("AUTH-1", allowed=False)
    assert Determination.from_dict(kept.to_dict()) == kept


def test_the_reannouncement_window_is_effective_dated_and_required() -> None:
    rules = DeterminationRules.from_dict({"reannouncement": [
        {"effective_from": date(2020, 1, 1), "effective_to": date(2026, 6, 30), "reannounce_within_days": 365},
        {"effective_from": date(2026, 7, 1), "reannounce_within_days": 180}]})
    assert rules.open_since(date(2026, 6, 30)) == date(2025, 6, 30)
    assert rules.open_since(date(2026, 12, 1)) == date(2026, 6, 4)
    with pytest.raises(RulesError, match=r"reannouncement\[0\]\.reannounce_within_days"):
        DeterminationRules.from_dict({"reannouncement": [{"effective_from": date(2020, 1, 1)}]})
