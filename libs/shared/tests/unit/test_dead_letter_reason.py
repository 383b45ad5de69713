"""What a dead letter says about why: enough to act on, never the payload's values."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError
from rcm_shared.messaging.consumer import PermanentEventError, _reason


class _Payload(BaseModel):
    member_id: int


def test_foreign_errors_are_reduced_to_their_type() -> None:
    database_error = RuntimeError('duplicate key (patient_id)=(SAMPLE, ALEX 1988-04-12)')
    assert _reason(database_error) == "RuntimeError"


def test_validation_errors_keep_field_paths_not_values() -> None:
    try:
        _Payload.model_validate({"member_id": "SBX000001-ALEX"})
    except ValidationError as exc:
        reason = _reason(exc)
    assert reason == "invalid payload: member_id: int_parsing"


def test_our_permanent_errors_keep_their_message() -> None:
    assert _reason(PermanentEventError("payload practice_id does not match")) == (
        "PermanentEventError: payload practice_id does not match")


class _Line(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: int
    by_code: dict[str, int] = {}


class _Claim(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lines: list[_Line]


def test_a_key_the_sender_invented_is_not_repeated() -> None:
    try:
        _Claim.model_validate({"lines": [{"amount": 1, "MARGARET HOLLOWAY 1957-03-02": "x"}],
                               "HOLLOWAY": 1})
    except ValidationError as exc:
        reason = _reason(exc)
    assert "HOLLOWAY" not in reason
    assert "lines.0.(unknown field): extra_forbidden" in reason
    assert "(unknown field): extra_forbidden" in reason


def test_a_dict_key_is_not_repeated_but_the_field_is_named() -> None:
    try:
        _Line.model_validate({"amount": 1, "by_code": {"MARGARET HOLLOWAY": "many"}})
    except ValidationError as exc:
        reason = _reason(exc)
    assert reason == "invalid payload: by_code.(unknown field): int_parsing"


def test_an_unknown_event_type_is_not_repeated() -> None:
    from rcm_shared.contracts.envelope import EventEnvelope
    from rcm_shared.contracts.registry import UnknownEventType, decode_payload

    envelope = EventEnvelope(type="patient MARGARET HOLLOWAY", schema_version=1, source="x", subject="s",
                             practice_id="p", data={})
    try:
        decode_payload(envelope)
    except UnknownEventType as exc:
        assert "HOLLOWAY" not in str(exc)
        assert _reason(exc) == "UnknownEventType: unknown event type"
