"""What a webhook carries of an event's data: everything for an endpoint whose practice opted in to PHI (and
that is reached over HTTPS), otherwise the event type's allow-list in ``rules/payload_fields.yaml`` (ids and
non-PHI facts). A field not listed is withheld, so a field added to a contract later stays out until it is listed.
The CloudEvent says so: ``phiwithheld: true`` and the withheld field names in ``withheldfields``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PayloadFields:
    allowed: Mapping[str, frozenset[str]]
    version: str = ""

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], version: str = "") -> PayloadFields:
        fields = data.get("fields")
        if not isinstance(fields, Mapping) or not fields:
            raise ValueError("fields: a map of event type to field names is required")
        allowed: dict[str, frozenset[str]] = {}
        for event_type, names in fields.items():
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise ValueError(f"fields.{event_type}: a list of field names is required")
            allowed[str(event_type)] = frozenset(names)
        return cls(allowed, version)

    def non_phi(self, event_type: str, data: Mapping[str, Any]) -> dict[str, Any]:
        """The fields of ``data`` a webhook may carry without PHI opt-in."""
        listed = self.allowed.get(event_type)
        if listed is None:
            return {k: v for k, v in data.items() if k.endswith("_id")}
        return {k: v for k, v in data.items() if k in listed}


def delivered_event(cloud_event: Mapping[str, Any], fields: PayloadFields, *, include_phi: bool) -> dict[str, Any]:
    """The CloudEvent (structured JSON, as on Kafka) a webhook delivers, its data reduced unless PHI is allowed."""
    if include_phi:
        return dict(cloud_event)
    data = cloud_event.get("data") or {}
    kept = fields.non_phi(str(cloud_event.get("type", "")), data)
    withheld = sorted(k for k in data if k not in kept)
    event = {**cloud_event, "data": kept}
    if withheld:
        event["phiwithheld"] = True
        event["withheldfields"] = ",".join(withheld)  # names, never values
    return event
