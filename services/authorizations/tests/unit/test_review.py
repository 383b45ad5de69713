"""What a review answer means for us (status, the authorization it gives, what to fix) and where requests go."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import authorizations.domain as domain_package
import pytest
import yaml
from authorizations.domain.model import AuthorizationStatus
from authorizations.domain.review import (
    ACTION_STATUS,
    Rejection,
    RequestedCare,
    ReviewResponse,
    ReviewStatus,
    ServiceOutcome,
    authorization_from,
    npi_is_valid,
    overall_action,
)
from authorizations.domain.review_routes import ReviewRoutes, RoutesError
from hypothesis import given
from hypothesis import strategies as st

ASKED = RequestedCare(frozenset({"90837", "90847"}), 16, date(2026, 3, 1), date(2026, 8, 31))


def test_action_codes_map_to_what_the_front_desk_does() -> None:
    assert {code: status.value for code, status in ACTION_STATUS.items()} == {
        "A1": "approved", "A2": "modified", "A6": "modified", "A3": "denied", "A4": "pended", "CT": "pended",
        "NA": "not_required", "C": "cancelled"}
    assert ReviewResponse("T1").status is ReviewStatus.REJECTED, "no HCR: not reviewed"
    assert ReviewResponse("T1", action="ZZ").status is ReviewStatus.PENDED, "an unknown code goes to a person"


@given(st.lists(st.sampled_from(["A1", "A2", "A3", "A4", "A6", "CT"]), min_size=1, max_size=6))
def test_overall_action_never_claims_more_than_its_services(actions: list[str]) -> None:
    overall = overall_action(actions)
    if len(set(actions)) == 1:
        assert overall == actions[0]
    elif any(a in ("A4", "CT") for a in actions):
        assert overall == "A4", "anything still pending keeps the event pending"
    elif any(a in ("A1", "A2", "A6") for a in actions):
        assert overall == "A6"
    else:
        assert overall == "A3"
    assert overall_action([]) == ""


def test_certified_answer_gives_the_certified_codes_units_and_period() -> None:
    answer = ReviewResponse("T1", action="A6", certification_number="AUTH9", start=date(2026, 3, 1),
                            end=date(2026, 5, 29), approved_units=12, services=(
                                ServiceOutcome("90837", 8, "A1", "AUTH9", approved_units=8),
                                ServiceOutcome("90847", 8, "A3", reason_code="X1")))
    auth = authorization_from(answer, ASKED, "pt-1", "SBXHP")
    assert auth is not None and auth.status is AuthorizationStatus.APPROVED
    assert (auth.number, auth.cpt_codes, auth.approved_units) == ("AUTH9", frozenset({"90837"}), 12)
    assert (auth.start, auth.end) == (date(2026, 3, 1), date(2026, 5, 29))


def test_missing_details_fall_back_to_the_services_then_to_what_was_asked() -> None:
    bare = authorization_from(ReviewResponse("T1", action="A1", certification_number="N1"), ASKED, "p", "X")
    assert bare is not None and (bare.approved_units, bare.cpt_codes, bare.start, bare.end) == (
        16, ASKED.cpt_codes, ASKED.start, ASKED.end)
    per_service = authorization_from(ReviewResponse("T1", action="A1", certification_number="N1", services=(
        ServiceOutcome("90837", 8, "A1", approved_units=5, start=date(2026, 3, 2), end=date(2026, 4, 1)),
        ServiceOutcome("90847", 8, "A1", start=date(2026, 3, 5), end=date(2026, 5, 1)))), ASKED, "p", "X")
    assert per_service is not None and per_service.approved_units == 13, "5 certified + 8 as asked"
    assert (per_service.start, per_service.end) == (date(2026, 3, 2), date(2026, 5, 1))


def test_denial_is_kept_without_units_and_pends_or_rejections_give_nothing() -> None:
    denied = authorization_from(ReviewResponse("T1", action="A3", reason_code="X2", administrative_reference="R7"),
                                ASKED, "p", "X")
    assert denied is not None and denied.status is AuthorizationStatus.DENIED
    assert (denied.number, denied.approved_units) == ("R7", 0)
    assert authorization_from(ReviewResponse("T1", action="A4"), ASKED, "p", "X") is None
    assert authorization_from(ReviewResponse("T1", rejections=(Rejection("2010C", "72"),)), ASKED, "p", "X") is None


@pytest.mark.parametrize(("loop", "code", "party", "fix"), [
    ("2010C", "72", "subscriber", "member_id"), ("2010C", "75", "subscriber", "member_id"),
    ("2010C", "58", "subscriber", "subscriber_birth_date"), ("2010B", "15", "requester", "requester_npi"),
    ("2010B", "43", "requester", "requester_npi"), ("2010EA", "43", "rendering_provider", "rendering_npi"),
    ("2000E", "57", "patient_event", "dates"), ("2000F", "AG", "service", "services"),
    ("2010A", "42", "payer", None), ("2010C-NM109", "72", "subscriber", "member_id"),
])
def test_rejections_say_whose_data_and_which_field(loop: str, code: str, party: str, fix: str | None) -> None:
    rejection = Rejection(loop, code, "C")
    shown = rejection.to_dict()
    assert (shown["party"], shown["fix"], shown["follow_up_action"]) == (party, fix, "Please correct and resubmit")
    assert shown["reason"] != f"Reject reason {code}", "a known 901 code has its meaning"
    assert rejection.retry_later == (code == "42"), "42: the payer could not answer now - nothing to fix"


def test_npi_check_digit() -> None:
    assert npi_is_valid("1234567893") and npi_is_valid("1245319599")
    assert not npi_is_valid("1234567890") and not npi_is_valid("123456789") and not npi_is_valid("3234567893")


# ------------------------------------------------------------------------------------------------ routes


def packaged_routes() -> ReviewRoutes:
    path = Path(domain_package.__file__).parent / "rules" / "utilization_review.yaml"
    return ReviewRoutes.from_dict(yaml.safe_load(path.read_text()))


def test_packaged_routes_send_every_payer_to_the_sandbox() -> None:
    routes = packaged_routes()
    assert routes.route_for("ANYPAYER", date(2026, 1, 1)).channel == "sandbox"
    assert routes.follow_up_on("ANYPAYER", date(2026, 3, 1)) == date(2026, 3, 8)
    assert routes.follow_up_on("SBXUM", date(2026, 3, 1)) == date(2026, 3, 4)
    assert routes.reason_text("SBXHP", "SBX02").startswith("Medical necessity")
    assert routes.reason_text("SBXHP", "Q9") == "Review decision reason Q9" and routes.reason_text("X", "") == ""


def test_routes_pick_the_specific_payer_on_its_dates() -> None:
    routes = ReviewRoutes.from_dict({"routes": [
        {"payer_id": "*", "channel": "sandbox"},
        {"payer_id": "PAS1", "channel": "pas-fhir", "endpoint": "https://pas.example/fhir/",
         "effective_from": "2026-07-01"},
        {"payer_id": "EDI1", "channel": "x12-278", "endpoint": "https://ch.example/278", "receiver_id": "CLEARING",
         "effective_from": "2026-01-01", "effective_to": "2026-12-31"},
    ], "decision_reasons": {"PAS1": {"R1": "payer one's reason"}}})
    assert routes.route_for("PAS1", date(2026, 6, 30)).channel == "sandbox"
    pas = routes.route_for("PAS1", date(2026, 7, 1))
    assert (pas.channel, pas.endpoint) == ("pas-fhir", "https://pas.example/fhir")
    assert routes.route_for("EDI1", date(2026, 5, 1)).receiver_id == "CLEARING"
    assert routes.route_for("EDI1", date(2027, 1, 1)).channel == "sandbox"
    assert routes.reason_text("PAS1", "R1") == "payer one's reason"
    assert ReviewRoutes.from_dict({"routes": [{"payer_id": "A", "channel": "sandbox"}]}).follow_up_on(
        "A", date(2026, 1, 1)) == date(2026, 1, 8), "no follow-up rule: a week"
    with pytest.raises(LookupError):
        ReviewRoutes.from_dict({"routes": [{"payer_id": "A", "channel": "sandbox"}]}).route_for("B", date(2026, 1, 1))


@pytest.mark.parametrize("broken", [
    {"routes": []},
    {"routes": [{"payer_id": "*", "channel": "fax"}]},
    {"routes": [{"payer_id": "*", "channel": "pas-fhir"}]},
    {"routes": [{"payer_id": "*", "channel": "x12-278", "endpoint": "ftp://x"}]},
    {"routes": [{"payer_id": "*", "channel": "pas-fhir", "endpoint": "http://payer.example/fhir"}]},
    {"routes": [{"payer_id": "*", "channel": "sandbox", "effective_from": "soon"}]},
    {"routes": [{"payer_id": "*", "channel": "sandbox"}], "follow_up": [{"payer_id": "*", "pended_days": -1}]},
    {"routes": [{"payer_id": "*", "channel": "sandbox"}], "decision_reasons": {"*": "not a table"}},
])
def test_malformed_routes_are_refused(broken: dict[str, object]) -> None:
    with pytest.raises(RoutesError):
        ReviewRoutes.from_dict(broken)
