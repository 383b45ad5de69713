"""What a dead letter says about why: enough to act on, never the payload's values."""

from __future__ import annotations

from pydantic import BaseModel, ValidationError
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
