"""FHIR search parameters read strictly: date prefixes become one inclusive range, tokens and references are
checked, anything unknown or malformed is an OperationOutcome naming the parameter."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from rcm_shared.fhir.api import DateRange, FhirError, Kind, parse_search, validated
from starlette.requests import Request

SPEC = {"patient": Kind.REFERENCE, "created": Kind.DATE, "status": Kind.TOKEN}


def request(query: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/fhir/r4/X", "query_string": query.encode(),
                    "headers": []})


def test_date_prefixes_narrow_one_inclusive_range() -> None:
    search = parse_search(request("created=ge2026-01-01&created=lt2026-02-01&created=gt2026-01-09"), SPEC)
    assert search.get("created") == DateRange(date(2026, 1, 10), date(2026, 1, 31))
    assert parse_search(request("created=2026-03-04"), SPEC).get("created") == DateRange(date(2026, 3, 4),
                                                                                         date(2026, 3, 4))


def test_references_tokens_count_and_pages() -> None:
    search = parse_search(request("patient=Patient/pt-1&status=active&_count=5"), SPEC,
                          allowed_tokens={"status": ("active", "cancelled")})
    assert (search.get("patient"), search.get("status"), search.count, search.offset) == ("pt-1", "active", 5, 0)


@pytest.mark.parametrize("query", ["patinet=pt-1", "status=open", "created=2026-02-30", "created=ne2026-01-01",
                                   "patient=a&patient=b", "_count=1000", "_page=xyz", "patient=Patient/a%20b",
                                   "created=gt9999-12-31", "created=lt0001-01-01"])
def test_unknown_or_malformed_parameters_are_operation_outcomes(query: str) -> None:
    with pytest.raises(FhirError) as caught:
        parse_search(request(query), SPEC, allowed_tokens={"status": ("active", "cancelled")})
    assert caught.value.status == 400
    assert caught.value.outcome()["issue"][0]["expression"] == [query.split("=", maxsplit=1)[0]]


def test_a_reference_type_per_parameter() -> None:
    spec = {"patient": Kind.REFERENCE, "claim": Kind.REFERENCE}
    search = parse_search(request("patient=Patient/pt-1&claim=Claim/c-1"), spec, reference_types={"claim": "Claim"})
    assert (search.get("patient"), search.get("claim")) == ("pt-1", "c-1")
    with pytest.raises(FhirError) as caught:
        parse_search(request("claim=Patient/pt-1"), spec, reference_types={"claim": "Claim"})
    assert caught.value.outcome()["issue"][0]["expression"] == ["claim"]


def test_the_calendars_last_day_is_an_open_end() -> None:
    from rcm_shared.fhir.queries import on_days
    from sqlalchemy import column

    search = parse_search(request("created=ge9999-12-31&created=le9999-12-31"), SPEC)
    assert search.get("created") == DateRange(date.max, date.max)
    assert len(on_days(column("at"), search.get("created"))) == 1, "no bound past the calendar"


@given(st.text(max_size=40))
def test_any_query_text_parses_or_is_a_400(text: str) -> None:
    try:
        parse_search(request(f"created={text}&patient={text}"), SPEC)
    except FhirError as exc:
        assert exc.status == 400


def test_resources_are_validated_before_they_leave() -> None:
    assert validated({"resourceType": "Coverage", "status": "active", "beneficiary": {"reference": "Patient/p"},
                      "payor": [{"reference": "Organization/o"}]})["status"] == "active"
    with pytest.raises(ValueError):
        validated({"resourceType": "Coverage", "status": "active", "beneficiary": {"reference": "Patient/p"},
                   "payor": [{"reference": "Organization/o"}], "period": {"start": "the first of May"}})
