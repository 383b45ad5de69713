"""The contract compatibility check that `make lint` runs: what may change in a published version, and what not."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel
from rcm_shared.contracts.compatibility import PUBLISHED, breaking_changes, check, current_schemas


class Line(BaseModel):
    code: str
    units: int = 1


class Published(BaseModel):
    claim_id: str
    amount: Decimal
    status: Literal["paid", "denied"]
    lines: list[Line]
    note: str | None = None


def changes(new: type[BaseModel]) -> list[str]:
    return breaking_changes(Published.model_json_schema(), new.model_json_schema(), "x v1")


def test_adding_optional_fields_anywhere_is_compatible() -> None:
    class LineV(BaseModel):
        code: str
        units: int = 1
        modifier: str | None = None

    class Added(BaseModel):
        claim_id: str
        amount: Decimal
        status: Literal["paid", "denied"]
        lines: list[LineV]
        note: str | None = None
        payer_id: str | None = None

    assert changes(Added) == []  # a new optional field at the top and inside the lines of the array


def test_removing_retyping_requiring_or_widening_an_enum_is_refused() -> None:
    class Removed(BaseModel):
        claim_id: str
        status: Literal["paid", "denied"]
        lines: list[Line]
        note: str | None = None

    class Retyped(BaseModel):
        claim_id: str
        amount: float
        status: Literal["paid", "denied"]
        lines: list[Line]
        note: str | None = None

    class Required(BaseModel):
        claim_id: str
        amount: Decimal
        status: Literal["paid", "denied"]
        lines: list[Line]
        note: str

    class NewRequired(BaseModel):
        claim_id: str
        amount: Decimal
        status: Literal["paid", "denied"]
        lines: list[Line]
        note: str | None = None
        payer_id: str

    class Widened(BaseModel):
        claim_id: str
        amount: Decimal
        status: Literal["paid", "denied", "reversed"]
        lines: list[Line]
        note: str | None = None

    assert changes(Removed) == ["x v1.amount: removed"]
    assert [c.split(":")[0] for c in changes(Retyped)] == ["x v1.amount"]
    assert "x v1.note: was optional, now required" in changes(Required)
    assert changes(NewRequired) == ["x v1.payer_id: a new field must be optional (messages already published "
                                    "lack it)"]
    assert [c.split(":")[0] for c in changes(Widened)] == ["x v1.status"]


def test_a_nested_models_new_optional_field_is_compatible_and_its_removed_field_is_not() -> None:
    class Outer(BaseModel):
        line: Line

    class LineAdded(BaseModel):
        code: str
        units: int = 1
        modifier: str | None = None

    class OuterAdded(BaseModel):
        line: LineAdded

    class LineShrunk(BaseModel):
        code: str

    class OuterShrunk(BaseModel):
        line: LineShrunk

    old = Outer.model_json_schema()
    assert breaking_changes(old, OuterAdded.model_json_schema(), "o v1") == []
    assert breaking_changes(old, OuterShrunk.model_json_schema(), "o v1") == ["o v1.line.units: removed"]

    class OptionalOuter(BaseModel):
        line: Line | None = None

    class OptionalOuterShrunk(BaseModel):
        line: LineShrunk | None = None

    assert breaking_changes(OptionalOuter.model_json_schema(), OptionalOuterShrunk.model_json_schema(),
                            "o v1") == ["o v1.line.units: removed"]


def test_a_published_version_that_disappears_is_refused_and_a_new_one_must_be_recorded() -> None:
    schema: dict[str, Any] = Published.model_json_schema()
    problems, unrecorded = check({"x v1": schema}, {"x v2": schema})
    assert problems == ["x v1: published, but no longer in the registry (consumers may still read it)"]
    assert unrecorded == ["x v2"]


def test_every_contract_in_the_registry_is_recorded_and_compatible_with_its_record() -> None:
    published = json.loads(PUBLISHED.read_text())
    problems, unrecorded = check(published, current_schemas())
    assert problems == [] and unrecorded == []
