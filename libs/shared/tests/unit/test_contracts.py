"""Every registered contract survives the wire: envelope → bytes → envelope → payload, exactly."""

from __future__ import annotations

import json
import types
import typing
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError
from rcm_shared.contracts import (
    REGISTRY,
    ClaimPaymentPostedV1,
    EventEnvelope,
    EventPayload,
    UnknownEventType,
    decode_payload,
    envelope_for,
)
from rcm_shared.contracts.asyncapi import build_asyncapi, render_asyncapi
from rcm_shared.contracts.topics import ALL_TOPICS, dead_letter_topic

REPO_ROOT = Path(__file__).resolve().parents[4]
CONTRACTS = sorted(REGISTRY.items())
CONTRACT_IDS = [f"{event_type}-v{version}" for (event_type, version), _ in CONTRACTS]


def sample_value(name: str, annotation: Any) -> Any:
    """A plausible, non-default value for one field, built from its annotation."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        # Optional fields get a real value: None would not prove the type survives the trip.
        return sample_value(name, next(a for a in args if a is not type(None)))
    if origin is Literal:
        return args[-1]
    if origin is list:
        return [sample_value(name, args[0]), sample_value(name, args[0])]
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return build(annotation)
    if annotation is bool:
        return True
    if annotation is int:
        return 7
    if annotation is Decimal:
        # Ten digits after the point and a large magnitude: a float would lose one of them.
        return Decimal("12345678901234.1000000001")
    if annotation is datetime:
        return datetime(2026, 2, 28, 13, 45, 7, 123456, tzinfo=UTC)
    if annotation is date:
        return date(2026, 2, 28)
    if annotation is str:
        return f"{name}-0001"
    raise AssertionError(f"no sample for field {name}: {annotation!r}; extend sample_value")


def build(model: type[BaseModel]) -> Any:
    return model(**{name: sample_value(name, field.annotation) for name, field in model.model_fields.items()})


def decimals(value: Any) -> list[Decimal]:
    if isinstance(value, Decimal):
        return [value]
    if isinstance(value, BaseModel):
        return [d for name in type(value).model_fields for d in decimals(getattr(value, name))]
    if isinstance(value, list):
        return [d for item in value for d in decimals(item)]
    return []


def test_registry_covers_every_topic_and_names_models_consistently() -> None:
    assert {model.topic for model in REGISTRY.values()} == set(ALL_TOPICS)
    for (event_type, version), model in REGISTRY.items():
        assert model.event_type == event_type
        assert model.schema_version == version
        assert model.__name__.endswith(f"V{version}")


@pytest.mark.parametrize(("key", "model"), CONTRACTS, ids=CONTRACT_IDS)
def test_contract_round_trips_through_the_envelope(key: tuple[str, int], model: type[EventPayload]) -> None:
    payload = build(model)
    envelope = envelope_for(payload, source="kernel-tests", subject="agg-1", practice_id="practice-a",
                            correlation_id="corr-1", causation_id="cause-1",
                            traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    raw = envelope.to_bytes()
    back = EventEnvelope.from_bytes(raw)
    assert back == envelope
    assert (back.type, back.schema_version) == key
    decoded = decode_payload(back)
    assert type(decoded) is model
    assert decoded == payload
    originals, restored = decimals(payload), decimals(decoded)
    assert [str(d) for d in restored] == [str(d) for d in originals]
    # Money travels as JSON strings, never as JSON numbers (a consumer's float parse would round it).
    wire = json.loads(raw)["data"]
    for name, field in model.model_fields.items():
        if field.annotation in (Decimal, Decimal | None):
            assert isinstance(wire[name], str), name


@pytest.mark.parametrize(("key", "model"), CONTRACTS, ids=CONTRACT_IDS)
def test_contract_refuses_unknown_fields(key: tuple[str, int], model: type[EventPayload]) -> None:
    data = build(model).model_dump(mode="json")
    with pytest.raises(ValidationError) as caught:
        model.model_validate({**data, "patient_name": "Jane Doe"})
    assert caught.value.errors()[0]["type"] == "extra_forbidden"
    envelope = EventEnvelope(type=key[0], schema_version=key[1], source="t", subject="s", practice_id="p",
                             data={**data, "surprise": 1})
    with pytest.raises(ValidationError):
        decode_payload(envelope)


def test_envelope_refuses_unknown_fields_and_missing_subject() -> None:
    good = json.loads(envelope_for(build(ClaimPaymentPostedV1), source="s", subject="claim-1",
                                   practice_id="p").to_bytes())
    with pytest.raises(ValidationError):
        EventEnvelope.from_bytes(json.dumps({**good, "member_id": "X1"}).encode())
    del good["subject"]
    with pytest.raises(ValidationError):
        EventEnvelope.from_bytes(json.dumps(good).encode())
    with pytest.raises(ValidationError):
        EventEnvelope.from_bytes(b"{not json")


def test_unknown_type_or_version_is_refused() -> None:
    base = {"source": "s", "subject": "x", "practice_id": "p", "data": {}}
    with pytest.raises(UnknownEventType):
        decode_payload(EventEnvelope(type="claim.exploded", schema_version=1, **base))
    with pytest.raises(UnknownEventType):
        decode_payload(EventEnvelope(type="claim.submitted", schema_version=99, **base))


def test_payloads_are_frozen() -> None:
    payload = build(ClaimPaymentPostedV1)
    with pytest.raises(ValidationError):
        payload.paid = Decimal("0")


@given(cents=st.integers(min_value=-(10**15), max_value=10**15))
def test_money_in_a_payload_stays_exact(cents: int) -> None:
    amount = (Decimal(cents) / 100).quantize(Decimal("0.01"))
    data = build(ClaimPaymentPostedV1).model_dump()
    payload = ClaimPaymentPostedV1(**{**data, "paid": amount, "charge": amount})
    envelope = envelope_for(payload, source="s", subject="claim-1", practice_id="practice-a")
    decoded = decode_payload(EventEnvelope.from_bytes(envelope.to_bytes()))
    assert isinstance(decoded, ClaimPaymentPostedV1)
    assert decoded.paid == amount
    assert str(decoded.charge) == str(amount)


def test_asyncapi_document_is_current() -> None:
    path = REPO_ROOT / "docs" / "asyncapi.yaml"
    assert path.exists(), "docs/asyncapi.yaml is missing: run `make asyncapi`"
    assert path.read_text() == render_asyncapi(), (
        "docs/asyncapi.yaml is out of date with rcm_shared.contracts: run `make asyncapi` and commit it"
    )


def test_asyncapi_names_every_contract_and_dead_letter_channel() -> None:
    document = build_asyncapi()
    for topic in ALL_TOPICS:
        assert topic in document["channels"]
        assert dead_letter_topic(topic) in document["channels"]
    messages = document["components"]["messages"]
    for (event_type, version), model in REGISTRY.items():
        assert messages[model.__name__]["name"] == event_type
        assert messages[model.__name__]["x-schema-version"] == version
        assert model.__name__ in document["channels"][model.topic]["messages"]
