"""Every rules file of the webhooks service as its domain object, read once by ``bootstrap.py``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from webhooks.domain.redaction import PayloadFields
from webhooks.domain.schedule import DeliveryRules


@dataclass(frozen=True)
class Rulebook:
    delivery: DeliveryRules
    payload_fields: PayloadFields
    versions: Mapping[str, str] = field(default_factory=dict)
