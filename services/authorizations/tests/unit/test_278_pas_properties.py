"""Property tests over a varied generated set of prior-authorization requests and answers: the 278 request and
response writers and readers round-trip, the PAS bundle builders and readers round-trip, everything written
passes the 005010X217 structural validator, and the sandbox answers a 278 and a PAS bundle alike."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from authorizations.domain.model import AuthorizationRequest, Dependent, RequestedService
from authorizations.domain.review import (
    CERTIFIED_ACTIONS as CERTIFIED,
)
from authorizations.domain.review import (
    Rejection,
    ReviewResponse,
    ServiceOutcome,
    overall_action,
)
from authorizations.edi.pas import build_pas_request, build_pas_response, read_pas_request, read_pas_response
from authorizations.edi.x12_278 import build_278, read_278, trace_originator_of
from authorizations.edi.x12_278_response import build_278_response, read_278_response
from authorizations.edi.x217_structure import validate_278
from authorizations.sandbox.reviewer import ReviewRule, SandboxReviewer, SandboxRules, ValidationRule
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rcm_shared.x12.code_tables import REJECT_REASONS
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties

PARTIES = InterchangeParties("RCMPLATFORM", "SBXUMO")
PAYER_PARTIES = InterchangeParties("SBXUMO", "RCMPLATFORM")
CODES = ("90791", "90832", "90834", "90837", "90846", "90847", "90853", "90899", "99213")
PROPERTY = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])

UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
ALNUM = UPPER + "0123456789"
letters = st.sampled_from(UPPER)
names = st.builds(lambda a, b, c: a + b + c, letters, st.text(UPPER + "' -", max_size=18), letters)
upper_ids = st.text(ALNUM, min_size=6, max_size=20)


def _with_check_digit(nine: str) -> str:
    total = 0
    for i, ch in enumerate(reversed("80840" + nine)):
        digit = int(ch) * (2 if i % 2 == 0 else 1)
        total += digit - 9 if digit > 9 else digit
    return nine + str((10 - total % 10) % 10)


npis = st.integers(100_000_000, 299_999_999).map(lambda n: _with_check_digit(str(n)))
genders = st.sampled_from(["", "F", "M", "U"])
icd10 = st.builds(lambda a, b, c: a + b + c, st.sampled_from(UPPER.replace("U", "")), st.sampled_from("0123456789"),
                  st.text(ALNUM, min_size=1, max_size=5))  # 3-7 characters, no dot
births = st.none() | st.dates(date(1930, 1, 1), date(2024, 12, 31))


@st.composite
def requests(draw: st.DrawFn) -> AuthorizationRequest:
    start = draw(st.dates(date(2024, 1, 1), date(2027, 12, 31)))
    dependent = None
    if draw(st.booleans()):
        born = draw(births)  # the gender travels in DMG03, which needs the birth date
        dependent = Dependent(draw(names), draw(names), born, draw(genders) if born else "",
                              draw(st.sampled_from(["01", "19", "34"])))
    subscriber_born = draw(births)
    certification = draw(st.sampled_from(["I", "R", "4", "S"]))
    return AuthorizationRequest(
        payer_id=draw(st.sampled_from(["SBXHP", "SBXBH", "SBXUM", "OTHERPAYER"])), payer_name=draw(names),
        requester_npi=draw(npis), requester_name=draw(names), member_id=draw(upper_ids),
        subscriber_last_name=draw(names), subscriber_first_name=draw(names), subscriber_birth_date=subscriber_born,
        subscriber_gender=draw(genders) if subscriber_born else "", rendering_npi=draw(npis),
        rendering_last_name=draw(names), rendering_first_name=draw(names),
        diagnosis_codes=tuple(draw(st.lists(icd10, min_size=1, max_size=12))),
        services=tuple(draw(st.lists(st.builds(RequestedService, st.sampled_from(CODES), st.integers(1, 40)),
                                     min_size=1, max_size=5))),
        start=start, end=start + timedelta(days=draw(st.integers(0, 240))),
        trace_number=draw(st.text(ALNUM, min_size=1, max_size=30)),
        place_of_service=draw(st.sampled_from(["11", "02", "10"])), certification_type=certification,
        dependent=dependent,
        previous_authorization_number=draw(upper_ids) if certification in ("4", "S", "R") else "",
    )


def control(n: int = 7) -> ControlNumbers:
    return ControlNumbers(n, n, n, datetime(2026, 3, 2, 10, 30))


reasons = st.text(ALNUM, min_size=1, max_size=6)
originators = st.text(ALNUM, min_size=9, max_size=9).map(lambda s: "9" + s)
rejection_codes = st.sampled_from(sorted(REJECT_REASONS))
follow_ups = st.sampled_from(["C", "N", "P", "R", "W", "X", "Y"])


def _rejections(draw: st.DrawFn, loops: list[str], max_size: int = 3) -> tuple[Rejection, ...]:
    """AAAs in document order (the loops are listed in the order they appear)."""
    found = draw(st.lists(st.builds(Rejection, st.sampled_from(loops), rejection_codes, follow_ups, st.booleans()),
                          min_size=1, max_size=max_size))
    return tuple(sorted(found, key=lambda r: loops.index(r.loop)))


def _outcome(draw: st.DrawFn, service: RequestedService) -> ServiceOutcome:
    action = draw(st.sampled_from(["A1", "A2", "A3", "A4", "A6", "CT", "NA"]))
    certified = action in ("A1", "A2", "A6")
    start = draw(st.dates(date(2025, 1, 1), date(2027, 1, 1)))
    return ServiceOutcome(
        cpt_code=service.cpt_code, requested_units=service.units, action=action,
        certification_number=draw(upper_ids) if certified else "",
        reason_code=draw(reasons) if action in ("A3", "A6") else draw(st.just("") | reasons),
        approved_units=draw(st.integers(0, service.units)) if certified else None,
        start=start if certified else None,
        end=start + timedelta(days=draw(st.integers(0, 200))) if certified else None,
        rejections=_rejections(draw, ["2000F"], 2) if draw(st.integers(0, 9)) == 0 else ())


@st.composite
def answered(draw: st.DrawFn) -> tuple[AuthorizationRequest, ReviewResponse]:
    """A request and a TR3-shaped answer to it: rejected before review, or an event with its services."""
    request = draw(requests())
    if draw(st.integers(0, 4)) == 0:
        loops = ["2000A", "2010A", "2010B", "2010C"] + (["2010D"] if request.dependent else [])
        return request, ReviewResponse(request.trace_number, rejections=_rejections(draw, loops),
                                       payer_id=request.payer_id)
    services = tuple(_outcome(draw, s) for s in request.services)
    event_rejected = draw(st.integers(0, 5)) == 0
    action = "" if event_rejected else draw(st.sampled_from(["A1", "A2", "A3", "A4", "A6", "CT", "NA"]))
    certified = action in ("A1", "A2", "A6")
    start = draw(st.dates(date(2025, 1, 1), date(2027, 1, 1)))
    return request, ReviewResponse(
        trace_number=request.trace_number, trace_originator=draw(originators),
        action=action, certification_number=draw(upper_ids) if certified else "",
        reason_code=draw(reasons) if action in ("A3", "A6") else "",
        administrative_reference=draw(st.just("") | upper_ids) if not certified else "",
        previous_authorization_number=request.previous_authorization_number,
        start=start if certified else None, end=start + timedelta(days=30) if certified else None,
        approved_units=draw(st.integers(0, 60)) if certified else None, services=services,
        rejections=_rejections(draw, ["2000E", "2010EA"]) if event_rejected else (), payer_id=request.payer_id)


@st.composite
def sandbox_rules(draw: st.DrawFn) -> SandboxRules:
    """A random payer: per code certify (with limits) / pend (then certify or deny) / deny, and some checks."""
    reviews = []
    for code in draw(st.lists(st.sampled_from(CODES), unique=True, max_size=len(CODES))):
        decision = draw(st.sampled_from(["certify", "pend", "deny"]))
        reviews.append(ReviewRule(
            payer_id=draw(st.sampled_from(["*", "SBXHP", "SBXUM"])), cpt_codes=frozenset({code}), decision=decision,
            reason=draw(reasons), then=draw(st.sampled_from(["certify", "deny"])) if decision == "pend" else "",
            max_units=draw(st.integers(0, 30)), max_days=draw(st.integers(1, 365)),
            diagnosis_prefixes=tuple(draw(st.lists(st.sampled_from(["F", "Z", "G", "A"]), min_size=1, max_size=3))),
            not_medically_necessary_reason=draw(reasons), modified_reason=draw(reasons)))
    checks = draw(st.lists(st.sampled_from([
        ValidationRule("*", "requester", "npi_listed", "15", values=frozenset({"1234567893"})),
        ValidationRule("*", "subscriber", "member_id_pattern", "72", pattern="^[A-Z]{3}[0-9A-Z]{3,}$"),
        ValidationRule("SBXHP", "rendering_provider", "npi_listed", "43", values=frozenset({"1245319599"})),
    ]), unique=True, max_size=2))
    return SandboxRules(tuple(checks), tuple(reviews), ReviewRule("*", frozenset(), "deny", reason=draw(reasons)))


# ------------------------------------------------------------------------------------------------ 278


@PROPERTY
@given(requests())
def test_278_request_round_trips_and_is_structurally_valid(request: AuthorizationRequest) -> None:
    text = build_278(request, control(), PARTIES)
    assert validate_278(text) == []
    assert read_278(text) == request


@PROPERTY
@given(answered())
def test_278_response_round_trips_and_is_structurally_valid(pair: tuple[AuthorizationRequest, ReviewResponse]) -> None:
    request, response = pair
    text = build_278_response(request, response, control(), PAYER_PARTIES)
    assert [str(i) for i in validate_278(text)] == []
    assert read_278_response(text) == response


@PROPERTY
@given(requests(), sandbox_rules())
def test_sandbox_answers_are_valid_278_responses_to_valid_requests(request: AuthorizationRequest,
                                                                   rules: SandboxRules) -> None:
    request_278 = build_278(request, control(), PARTIES)
    reviewer = SandboxReviewer(rules)
    answer = reviewer.answer_278(request_278, control(8), PAYER_PARTIES)
    assert [str(i) for i in validate_278(answer)] == []
    read = read_278_response(answer)
    expected = reviewer.review(request, trace_originator_of(request_278))
    if read.trace_originator == "":  # refused above the event: no TRN to echo, BHT03 names the request
        expected = replace(expected, trace_originator="")
    assert read == expected
    assert read.trace_number == request.trace_number
    for outcome in read.services:  # never more than asked, never a certification without a number
        assert outcome.approved_units is None or 0 <= outcome.approved_units <= outcome.requested_units
        assert (outcome.action in ("A1", "A6")) == bool(outcome.certification_number)
    final = reviewer.final_review(request, "9RCMPLATFM")
    assert all(s.action != "A4" for s in final.services), "after review nothing stays pended"


# ------------------------------------------------------------------------------------------------ PAS


def _as_read_back(request: AuthorizationRequest) -> AuthorizationRequest:
    """PAS (US Core) requires a gender: an unknown one comes back as U."""
    dependent = request.dependent
    if dependent is not None:
        dependent = replace(dependent, gender=dependent.gender or "U")
    return replace(request, subscriber_gender=request.subscriber_gender or "U", dependent=dependent)


@PROPERTY
@given(requests())
def test_pas_request_bundle_round_trips(request: AuthorizationRequest) -> None:
    bundle = json.loads(json.dumps(build_pas_request(request, created=datetime(2026, 3, 2, tzinfo=UTC),
                                                     originator="9RCMPLATFM")))
    assert bundle["type"] == "collection" and bundle["entry"][0]["resource"]["use"] == "preauthorization"
    assert read_pas_request(bundle) == (_as_read_back(request), "9RCMPLATFM")


@st.composite
def pas_answered(draw: st.DrawFn) -> tuple[AuthorizationRequest, ReviewResponse]:
    """A request and an answer in PAS's shape: errors only, or one reviewed item per requested service with the
    event's action, reason and count following from the items (PAS has no event-level HCR or HSD)."""
    request = draw(requests())
    originator = draw(originators)
    if draw(st.integers(0, 4)) == 0:
        loops = ["2010A", "2010B", "2010C", "2000E", "2010EA", "2010C-NM109"]
        errors = tuple(replace(r, valid=False) for r in _rejections(draw, loops))  # PAS has no AAA01
        return request, ReviewResponse(request.trace_number, originator, rejections=errors, payer_id=request.payer_id)
    services = tuple(replace(_outcome(draw, s), rejections=()) for s in request.services)
    action = overall_action([s.action for s in services])
    certified = [s for s in services if s.action in CERTIFIED]
    reason = next((s.reason_code for s in services if s.action == action and s.reason_code), "")
    if action == "A6" and not reason:
        reason = next((s.reason_code for s in services if s.reason_code), "")
    start = draw(st.dates(date(2025, 1, 1), date(2027, 1, 1)))
    return request, ReviewResponse(
        trace_number=request.trace_number, trace_originator=originator, action=action,
        certification_number=draw(upper_ids) if certified else "", reason_code=reason,
        administrative_reference=draw(st.just("") | upper_ids) if len(certified) < len(services) else "",
        previous_authorization_number=request.previous_authorization_number,
        start=start if certified else None, end=start + timedelta(days=60) if certified else None,
        approved_units=sum(s.approved_units or 0 for s in certified) if certified else None, services=services,
        payer_id=request.payer_id)


@PROPERTY
@given(pas_answered())
def test_pas_response_bundle_round_trips(pair: tuple[AuthorizationRequest, ReviewResponse]) -> None:
    request, response = pair
    bundle = json.loads(json.dumps(build_pas_response(request, response, created=datetime(2026, 3, 2, tzinfo=UTC))))
    (claim_response,) = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ClaimResponse"]
    assert claim_response["outcome"] == ("error" if not response.action else
                                         "queued" if response.action == "A4" else "complete")
    assert read_pas_response(bundle, request) == response


@PROPERTY
@given(requests(), sandbox_rules())
def test_the_sandbox_answers_pas_and_278_alike(request: AuthorizationRequest, rules: SandboxRules) -> None:
    reviewer = SandboxReviewer(rules)
    pas_request = build_pas_request(request, created=datetime(2026, 3, 2, tzinfo=UTC), originator="9RCMPLATFM")
    pas_answer = read_pas_response(reviewer.answer_pas(json.loads(json.dumps(pas_request)),
                                                       datetime(2026, 3, 2, tzinfo=UTC)), request)
    x12_answer = read_278_response(reviewer.answer_278(build_278(request, control(), PARTIES), control(),
                                                       PAYER_PARTIES))
    assert (pas_answer.status, pas_answer.action, pas_answer.certification_number, pas_answer.reason_code) == (
        x12_answer.status, x12_answer.action, x12_answer.certification_number, x12_answer.reason_code)
    assert [(s.cpt_code, s.action, s.approved_units) for s in pas_answer.services] == [
        (s.cpt_code, s.action, s.approved_units) for s in x12_answer.services]
    assert [(r.loop, r.reason_code) for r in pas_answer.rejections] == [
        (r.loop, r.reason_code) for r in x12_answer.rejections]
