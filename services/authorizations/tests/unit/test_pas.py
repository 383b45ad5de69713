"""The Da Vinci PAS request Bundle we build and the ClaimResponse bundles we read (shapes from the PAS IG STU 2)."""

from __future__ import annotations

import copy
import json
from dataclasses import replace
from datetime import UTC, date, datetime
from typing import Any

import pytest
from authorizations.domain.model import AuthorizationRequest, Dependent, RequestedService
from authorizations.domain.review import Rejection, ReviewResponse, ReviewStatus, ServiceOutcome
from authorizations.edi.pas import (
    build_pas_request,
    build_pas_response,
    operation_outcome_issues,
    pas_trace_number,
    read_pas_request,
    read_pas_response,
)
from authorizations.edi.pas_resources import EXT_REVIEW_ACTION, PROFILE_CLAIM, PROFILE_REQUEST_BUNDLE, PasFormatError

CREATED = datetime(2026, 3, 2, 10, 30, tzinfo=UTC)
REQUEST = AuthorizationRequest(
    payer_id="SBXPAS", payer_name="SANDBOX PAS PLAN", requester_npi="1234567893", requester_name="CALM CLINIC",
    member_id="SBX000004", subscriber_last_name="SAMPLE", subscriber_first_name="ALEX",
    subscriber_birth_date=date(1990, 1, 1), subscriber_gender="F", rendering_npi="1245319599",
    rendering_last_name="RIVERA", rendering_first_name="SAM", diagnosis_codes=("F331", "F411"),
    services=(RequestedService("90837", 8), RequestedService("90847", 4)), start=date(2026, 3, 1),
    end=date(2026, 5, 29), trace_number="PASTRACE1",
)


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def test_request_bundle_follows_the_pas_profiles() -> None:
    bundle = build_pas_request(REQUEST, created=CREATED, originator="9RCMPLATFM")
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "collection")
    assert bundle["meta"]["profile"] == [PROFILE_REQUEST_BUNDLE] and bundle["timestamp"] == "2026-03-02T10:30:00+00:00"
    assert bundle["identifier"] == {"system": "urn:trnorg:9RCMPLATFM", "value": "PASTRACE1"}
    assert bundle["entry"][0]["resource"]["resourceType"] == "Claim", "the Claim comes first"
    assert all(e["fullUrl"].startswith("urn:uuid:") for e in bundle["entry"])
    (claim,) = resources(bundle, "Claim")
    assert claim["meta"]["profile"] == [PROFILE_CLAIM]
    assert (claim["use"], claim["status"], claim["type"]["coding"][0]["code"]) == (
        "preauthorization", "active", "professional")
    assert claim["diagnosis"][0]["diagnosisCodeableConcept"]["coding"][0] == {
        "system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "F33.1"}
    item = claim["item"][1]
    assert item["productOrService"]["coding"][0] == {"system": "http://www.ama-assn.org/go/cpt", "code": "90847"}
    assert item["quantity"] == {"value": 4}, "a JSON number"
    assert item["servicedPeriod"] == {"start": "2026-03-01", "end": "2026-05-29"}
    assert {e["url"].rsplit("/", 1)[1] for e in item["extension"]} == {
        "extension-certificationType", "extension-requestedService"}
    urls = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    assert urls[claim["insurer"]["reference"]]["identifier"][0]["value"] == "SBXPAS"
    assert urls[claim["provider"]["reference"]]["identifier"][0] == {
        "system": "http://hl7.org/fhir/sid/us-npi", "value": "1234567893"}
    assert urls[claim["careTeam"][0]["provider"]["reference"]]["resourceType"] == "Practitioner"
    coverage = urls[claim["insurance"][0]["coverage"]["reference"]]
    assert coverage["subscriberId"] == "SBX000004" and coverage["relationship"]["coding"][0]["code"] == "18"
    services = resources(bundle, "ServiceRequest")
    assert [s["code"]["coding"][0]["code"] for s in services] == ["90837", "90847"]
    assert '""' not in json.dumps(bundle), "FHIR has no empty strings"


def test_a_dependent_is_the_claim_patient_and_the_subscriber_stays_on_the_coverage() -> None:
    child = replace(REQUEST, dependent=Dependent("SAMPLE", "KIM", date(2015, 6, 1), "F", "19"))
    bundle = build_pas_request(child, created=CREATED, originator="9RCMPLATFM")
    (claim,) = resources(bundle, "Claim")
    urls = {e["fullUrl"]: e["resource"] for e in bundle["entry"]}
    coverage = urls[claim["insurance"][0]["coverage"]["reference"]]
    assert coverage["beneficiary"] == claim["patient"] != coverage["subscriber"]
    assert urls[claim["patient"]["reference"]]["name"][0]["given"] == ["KIM"]
    assert read_pas_request(bundle)[0] == child


def answer(**changes: Any) -> ReviewResponse:
    base = ReviewResponse(
        "PASTRACE1", "9RCMPLATFM", "A6", "AUTH55", "SBX04", start=date(2026, 3, 1), end=date(2026, 4, 30),
        approved_units=10, services=(
            ServiceOutcome("90837", 8, "A1", "AUTH55", "", 8, date(2026, 3, 1), date(2026, 4, 30)),
            ServiceOutcome("90847", 4, "A6", "AUTH55", "SBX04", 2, date(2026, 3, 1), date(2026, 4, 30))),
        payer_id="SBXPAS")
    return replace(base, **changes)


def test_response_bundle_carries_review_action_pre_auth_ref_and_period() -> None:
    bundle = build_pas_response(REQUEST, answer(), created=CREATED)
    (response,) = resources(bundle, "ClaimResponse")
    assert (response["use"], response["outcome"], response["preAuthRef"]) == ("preauthorization", "complete", "AUTH55")
    assert response["preAuthPeriod"] == {"start": "2026-03-01", "end": "2026-04-30"}
    review = response["item"][1]["adjudication"][0]["extension"][0]
    assert review["url"] == EXT_REVIEW_ACTION
    sub = {e["url"].rsplit("/", 1)[-1]: e for e in review["extension"]}
    assert sub["extension-reviewActionCode"]["valueCodeableConcept"]["coding"][0] == {
        "system": "https://codesystem.x12.org/005010/306", "code": "A6"}
    assert sub["number"]["valueString"] == "AUTH55"
    assert sub["reasonCode"]["valueCodeableConcept"]["coding"][0]["code"] == "SBX04"
    assert read_pas_response(bundle, REQUEST) == answer()
    assert pas_trace_number(bundle) == "PASTRACE1"


def test_errors_read_as_rejections_and_pended_as_queued() -> None:
    refused = ReviewResponse("PASTRACE1", "9RCMPLATFM", rejections=(Rejection("2010C", "72", "C"),),
                             payer_id="SBXPAS")
    bundle = build_pas_response(REQUEST, refused, created=CREATED)
    (response,) = resources(bundle, "ClaimResponse")
    assert response["outcome"] == "error" and "item" not in response
    assert response["error"][0]["code"]["coding"][0] == {"system": "https://codesystem.x12.org/005010/901",
                                                          "code": "72"}
    read = read_pas_response(bundle, REQUEST)
    assert read.status is ReviewStatus.REJECTED and read.rejections[0].fix == "member_id"
    pended = answer(action="A4", certification_number="", reason_code="SBX03", start=None, end=None,
                    approved_units=None, administrative_reference="SBXR1", services=tuple(
                        ServiceOutcome(s.cpt_code, s.requested_units, "A4", reason_code="SBX03")
                        for s in answer().services))
    pended_bundle = build_pas_response(REQUEST, pended, created=CREATED)
    assert resources(pended_bundle, "ClaimResponse")[0]["outcome"] == "queued"
    assert read_pas_response(pended_bundle, REQUEST) == pended


def test_reader_takes_review_action_on_the_item_and_nested_error_elements() -> None:
    bundle = build_pas_response(REQUEST, answer(), created=CREATED)
    moved = copy.deepcopy(bundle)
    for item in resources(moved, "ClaimResponse")[0]["item"]:  # later PAS builds put reviewAction on the item
        item["extension"].append(item["adjudication"][0].pop("extension")[0])
    assert read_pas_response(moved, REQUEST) == answer()
    refused = build_pas_response(REQUEST, ReviewResponse("PASTRACE1", "9RCMPLATFM", rejections=(
        Rejection("2010B", "43", "C"),), payer_id="SBXPAS"), created=CREATED)
    error = resources(refused, "ClaimResponse")[0]["error"][0]
    element = next(e for e in error["extension"] if e["url"].endswith("extension-errorElement"))
    element.pop("valueString")
    element["extension"] = [{"url": "error", "valueString": "2010B-NM109"}]
    (rejection,) = read_pas_response(refused, REQUEST).rejections
    assert (rejection.loop, rejection.party, rejection.fix) == ("2010B-NM109", "requester", "requester_npi")


@pytest.mark.parametrize(("break_it", "where"), [
    (lambda b: b.update(type="transaction"), "Bundle.type"),
    (lambda b: b.update(resourceType="Parameters"), "not a FHIR Bundle"),
    (lambda b: b["entry"][0]["resource"].update(use="claim"), "ClaimResponse.use"),
    (lambda b: b["entry"][0]["resource"]["item"][0].update(itemSequence=9), "itemSequence"),
    (lambda b: b["entry"][0]["resource"]["item"][0]["adjudication"][0].update(extension=[]), "no reviewAction"),
    (lambda b: b["entry"][0]["resource"].update(preAuthPeriod={"start": "SAMPLE ALEX"}), "preAuthPeriod"),
    (lambda b: b["entry"].append(copy.deepcopy(b["entry"][0])), "fullUrl repeats"),
    (lambda b: b["entry"].append({**copy.deepcopy(b["entry"][0]), "fullUrl": "urn:uuid:other"}),
     "exactly one ClaimResponse"),
    # Longer than the X12 element it stands for, control characters, counts no certification carries: unreadable,
    # not a failed write (the columns hold 2 / 50 characters and an integer).
    (lambda b: b["entry"][0]["resource"].update(preAuthRef="P" * 51), "preAuthRef is too long"),
    (lambda b: b["entry"][0]["resource"]["item"][0]["adjudication"][0]["extension"][0]["extension"][0]
     ["valueCodeableConcept"]["coding"][0].update(code="A1Z"), "reviewActionCode is too long"),
    (lambda b: b["entry"][0]["resource"]["item"][0]["adjudication"][0]["extension"][0]["extension"][1]
     .update(valueString="AUTH\x0055"), "number is too long or holds control characters"),
    (lambda b: b["entry"][0]["resource"]["identifier"][0].update(value="T" * 51), "ClaimResponse.identifier"),
    (lambda b: b["entry"][0]["resource"]["item"][0]["extension"][1]["extension"][0]["valueQuantity"].update(
        value=1e30), "authorized quantity must be a whole count"),
])
def test_malformed_response_bundles_name_the_path_never_the_value(break_it: Any, where: str) -> None:
    bundle = build_pas_response(REQUEST, answer(), created=CREATED)
    break_it(bundle)
    with pytest.raises(PasFormatError) as raised:
        read_pas_response(bundle, REQUEST)
    assert where in str(raised.value)
    assert "SAMPLE" not in str(raised.value) and "SBX000004" not in str(raised.value)


def test_malformed_request_bundles_are_refused_without_phi() -> None:
    bundle = build_pas_request(REQUEST, created=CREATED, originator="9RCMPLATFM")
    bundle["entry"][0]["resource"]["item"][0]["quantity"] = {"value": "SAMPLE"}
    with pytest.raises(PasFormatError) as raised:
        read_pas_request(bundle)
    assert "SAMPLE" not in str(raised.value) and "Claim" in str(raised.value)
    no_claim = build_pas_request(REQUEST, created=CREATED, originator="9RCMPLATFM")
    no_claim["entry"] = no_claim["entry"][1:]
    with pytest.raises(PasFormatError, match="exactly one Claim"):
        read_pas_request(no_claim)


def test_operation_outcome_keeps_codes_and_paths_not_diagnostics() -> None:
    outcome = {"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "required", "diagnostics": "member SAMPLE ALEX unknown",
         "expression": ["Bundle.entry[0].resource.item[0]"]}]}
    assert operation_outcome_issues(outcome) == [("required", "Bundle.entry[0].resource.item[0]")]
    assert operation_outcome_issues({"resourceType": "Bundle"}) == []
