"""Which channel carries a payer's prior-authorization requests (the X12 278 over HTTPS, Da Vinci PAS, or the
sandbox), how long a pended review may wait before someone follows up, and what the payer's review-decision
reason codes mean: data, effective-dated (``rules/utilization_review.yaml``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any, TypeVar

from authorizations.domain.exceptions import NoReviewRoute

CHANNELS = ("sandbox", "x12-278", "pas-fhir")


class RoutesError(ValueError):
    """The routes data is malformed (names the entry and field)."""


@dataclass(frozen=True, slots=True)
class Route:
    payer_id: str
    channel: str
    endpoint: str = ""
    effective_from: date = date.min
    effective_to: date | None = None
    receiver_id: str = ""  # x12-278: ISA08 / GS03 of the partner (default: the payer id)

    def applies(self, payer_id: str, day: date) -> bool:
        return (self.payer_id in (payer_id, "*") and self.effective_from <= day
                and (self.effective_to is None or day <= self.effective_to))


@dataclass(frozen=True, slots=True)
class FollowUp:
    payer_id: str
    pended_days: int
    effective_from: date = date.min
    effective_to: date | None = None

    def applies(self, payer_id: str, day: date) -> bool:
        return (self.payer_id in (payer_id, "*") and self.effective_from <= day
                and (self.effective_to is None or day <= self.effective_to))


T = TypeVar("T", Route, FollowUp)


def _most_specific(items: list[T]) -> T | None:
    return max(items, key=lambda r: (r.payer_id != "*", r.effective_from)) if items else None


@dataclass(frozen=True, slots=True)
class ReviewRoutes:
    routes: tuple[Route, ...]
    follow_ups: tuple[FollowUp, ...] = ()
    reasons: Mapping[str, Mapping[str, str]] | None = None

    def route_for(self, payer_id: str, day: date) -> Route:
        route = _most_specific([r for r in self.routes if r.applies(payer_id, day)])
        if route is None:
            raise NoReviewRoute("no utilization-review route for this payer on this date")
        return route

    def follow_up_on(self, payer_id: str, sent_on: date) -> date:
        rule = _most_specific([f for f in self.follow_ups if f.applies(payer_id, sent_on)])
        return sent_on + timedelta(days=rule.pended_days if rule is not None else 7)

    def reason_text(self, payer_id: str, code: str) -> str:
        if not code:
            return ""
        reasons = self.reasons or {}
        for key in (payer_id, "*"):
            text = reasons.get(key, {}).get(code)
            if text:
                return text
        return f"Review decision reason {code}"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReviewRoutes:
        routes = []
        for i, item in enumerate(_items(data, "routes")):
            where = f"routes[{i}]"
            channel = _text(item, "channel", where)
            endpoint = str(item.get("endpoint") or "")
            if channel not in CHANNELS:
                raise RoutesError(f"{where}.channel must be one of {', '.join(CHANNELS)}")
            # Requests carry PHI: HTTPS only, plain HTTP only to this machine (a locally run sandbox payer).
            local = endpoint.startswith(("http://127.0.0.1", "http://localhost"))
            if channel != "sandbox" and not (endpoint.startswith("https://") or local):
                raise RoutesError(f"{where}.endpoint (an https URL) is required for {channel}")
            start, end = _dates(item, where)
            receiver = item.get("receiver_id") or ""
            if not isinstance(receiver, str) or len(receiver) > 15:
                raise RoutesError(f"{where}.receiver_id must be at most 15 characters")
            routes.append(Route(_text(item, "payer_id", where), channel, endpoint.rstrip("/"), start, end, receiver))
        follow_ups = []
        for i, item in enumerate(_items(data, "follow_up")):
            where = f"follow_up[{i}]"
            days = item.get("pended_days")
            if not isinstance(days, int) or days < 0:
                raise RoutesError(f"{where}.pended_days must be a whole number of days")
            start, end = _dates(item, where)
            follow_ups.append(FollowUp(_text(item, "payer_id", where), days, start, end))
        reasons = data.get("decision_reasons", {})
        if not isinstance(reasons, Mapping) or not all(
                isinstance(v, Mapping) and all(isinstance(t, str) for t in v.values()) for v in reasons.values()):
            raise RoutesError("decision_reasons must map payer ids to {code: meaning}")
        if not routes:
            raise RoutesError("routes must name at least one route (payer_id '*' for the default)")
        return cls(tuple(routes), tuple(follow_ups),
                   {str(k): {str(c): str(t) for c, t in v.items()} for k, v in reasons.items()})


def _items(data: Mapping[str, Any], key: str) -> list[Mapping[str, Any]]:
    items = data.get(key, [])
    if not isinstance(items, list) or not all(isinstance(i, Mapping) for i in items):
        raise RoutesError(f"{key} must be a list of objects")
    return items


def _text(item: Mapping[str, Any], key: str, where: str) -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise RoutesError(f"{where}.{key} must be a non-empty string")
    return value


def _dates(item: Mapping[str, Any], where: str) -> tuple[date, date | None]:
    def one(key: str) -> date | None:
        value = item.get(key)
        if value is None:
            return None
        if isinstance(value, date):
            return value
        if isinstance(value, str):
            try:
                return date.fromisoformat(value)
            except ValueError:
                pass
        raise RoutesError(f"{where}.{key} must be a date")

    start = one("effective_from")
    return start or date.min, one("effective_to")
