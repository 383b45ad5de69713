"""The sandbox utilization-management payer: reviews prior-authorization requests by rules given as data and
answers like a payer would: an X12 278 response, or a Da Vinci PAS ClaimResponse (``pas.py``), from the same
``ReviewResponse``.

Rules (shipped: ``rules/sandbox_reviewer.yaml``):

- ``request_validation``: checks made before any review; a failed check is an AAA (reject reason from code list
  901, follow-up action from 889) in the loop of the party whose data is wrong, and nothing is reviewed.
- ``reviews``: per payer (``"*"`` default; the specific payer wins) and CPT list, effective-dated on the first
  requested day: ``certify`` (at most ``max_units`` visits and ``max_days`` days, when the principal diagnosis
  starts with one of ``diagnosis_prefixes``), ``pend`` (and what the reviewer decides afterwards: ``then``) or
  ``deny``; each with the HCR03 reason code it answers with.
- ``unlisted``: what a service no rule names gets.

Numbers are derived from the trace number, so the same request always gets the same answer.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any

from authorizations.domain.model import AuthorizationRequest
from authorizations.domain.review import (
    CERTIFIED_ACTIONS,
    Rejection,
    ReviewResponse,
    ServiceOutcome,
    npi_is_valid,
    overall_action,
)
from authorizations.edi.pas import build_pas_response, read_pas_request
from authorizations.edi.x12_278 import read_278, trace_originator_of
from authorizations.edi.x12_278_response import build_278_response
from rcm_shared.x12.envelope import ControlNumbers, InterchangeParties

DECISIONS = ("certify", "pend", "deny")
PARTY_LOOPS = {"payer": "2010A", "requester": "2010B", "subscriber": "2010C", "rendering_provider": "2010EA"}
CHECKS = ("npi_check_digit", "npi_listed", "member_id_pattern", "member_id_listed")


class RuleError(ValueError):
    """The rules file is malformed: names the rule and field, never guesses."""


@dataclass(frozen=True, slots=True)
class ValidationRule:
    payer_id: str
    party: str
    check: str
    reject_reason: str
    follow_up: str = "C"
    pattern: str = ""
    values: frozenset[str] = frozenset()

    def fails(self, request: AuthorizationRequest) -> bool:
        npi = request.requester_npi if self.party == "requester" else request.rendering_npi
        if self.check == "npi_check_digit":
            return not npi_is_valid(npi)
        if self.check == "npi_listed":
            return npi in self.values
        if self.check == "member_id_pattern":
            return re.fullmatch(self.pattern, request.member_id) is None
        return request.member_id in self.values  # member_id_listed


@dataclass(frozen=True, slots=True)
class ReviewRule:
    payer_id: str
    cpt_codes: frozenset[str]
    decision: str
    reason: str = ""  # HCR03 for pend / deny
    then: str = ""  # pend: what the reviewer decides afterwards (certify | deny)
    max_units: int = 12
    max_days: int = 90
    diagnosis_prefixes: tuple[str, ...] = ("F",)
    not_medically_necessary_reason: str = ""
    modified_reason: str = ""
    effective_from: date = date.min
    effective_to: date | None = None

    def applies(self, payer_id: str, cpt_code: str, day: date) -> bool:
        return (self.payer_id in (payer_id, "*") and cpt_code in self.cpt_codes and self.effective_from <= day
                and (self.effective_to is None or day <= self.effective_to))


@dataclass(frozen=True, slots=True)
class SandboxRules:
    validation: tuple[ValidationRule, ...]
    reviews: tuple[ReviewRule, ...]
    unlisted: ReviewRule

    def rule_for(self, payer_id: str, cpt_code: str, day: date) -> ReviewRule:
        matching = [r for r in self.reviews if r.applies(payer_id, cpt_code, day)]
        if not matching:
            return self.unlisted
        return max(matching, key=lambda r: (r.payer_id != "*", r.effective_from))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SandboxRules:
        validation = tuple(_validation(i, item) for i, item in enumerate(_list(data, "request_validation")))
        reviews = tuple(_review(f"reviews[{i}]", item) for i, item in enumerate(_list(data, "reviews")))
        unlisted_raw = data.get("unlisted")
        if not isinstance(unlisted_raw, Mapping):
            raise RuleError("sandbox rules: unlisted must be an object")
        unlisted = _review("unlisted", {"payer_id": "*", "cpt_codes": [], **unlisted_raw})
        return cls(validation, reviews, unlisted)


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise RuleError(f"sandbox rules: {key} must be a list")
    return value


def _text(where: str, item: Mapping[str, Any], key: str, default: str | None = None) -> str:
    value = item.get(key, default)
    if not isinstance(value, str):
        raise RuleError(f"sandbox rules: {where}.{key} must be a string")
    return value


def _validation(i: int, item: Any) -> ValidationRule:
    where = f"request_validation[{i}]"
    if not isinstance(item, Mapping):
        raise RuleError(f"sandbox rules: {where} must be an object")
    party, check = _text(where, item, "party"), _text(where, item, "check")
    if party not in PARTY_LOOPS or check not in CHECKS:
        raise RuleError(f"sandbox rules: {where} has an unknown party or check")
    values = item.get("values", [])
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        raise RuleError(f"sandbox rules: {where}.values must be a list of strings")
    return ValidationRule(payer_id=_text(where, item, "payer_id", "*"), party=party, check=check,
                          reject_reason=_text(where, item, "reject_reason"),
                          follow_up=_text(where, item, "follow_up", "C"), pattern=_text(where, item, "pattern", ""),
                          values=frozenset(values))


def _day(where: str, value: Any, default: date | None) -> date | None:
    if value is None:
        return default
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value)
    raise RuleError(f"sandbox rules: {where} has an invalid date")


def _review(where: str, item: Any) -> ReviewRule:
    if not isinstance(item, Mapping):
        raise RuleError(f"sandbox rules: {where} must be an object")
    decision = _text(where, item, "decision")
    then = _text(where, item, "then", "")
    codes, prefixes = item.get("cpt_codes"), item.get("diagnosis_prefixes", ["F"])
    max_units, max_days = item.get("max_units", 12), item.get("max_days", 90)
    if decision not in DECISIONS or then not in ("", "certify", "deny") or (decision == "pend") != bool(then):
        raise RuleError(f"sandbox rules: {where} needs decision certify | pend (with then) | deny")
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        raise RuleError(f"sandbox rules: {where}.cpt_codes must be a list of strings")
    if not isinstance(prefixes, list) or not all(isinstance(p, str) for p in prefixes):
        raise RuleError(f"sandbox rules: {where}.diagnosis_prefixes must be a list of strings")
    if not isinstance(max_units, int) or not isinstance(max_days, int) or max_units < 0 or max_days < 1:
        raise RuleError(f"sandbox rules: {where} needs whole max_units >= 0 and max_days >= 1")
    start = _day(f"{where}.effective_from", item.get("effective_from"), date.min)
    assert start is not None
    return ReviewRule(
        payer_id=_text(where, item, "payer_id", "*"), cpt_codes=frozenset(codes), decision=decision,
        reason=_text(where, item, "reason", ""), then=then, max_units=max_units, max_days=max_days,
        diagnosis_prefixes=tuple(prefixes),
        not_medically_necessary_reason=_text(where, item, "not_medically_necessary_reason", ""),
        modified_reason=_text(where, item, "modified_reason", ""), effective_from=start,
        effective_to=_day(f"{where}.effective_to", item.get("effective_to"), None),
    )


def _number(prefix: str, trace_number: str) -> str:
    return prefix + hashlib.sha256(trace_number.encode()).hexdigest()[:10].upper()


class SandboxReviewer:
    def __init__(self, rules: SandboxRules) -> None:
        self.rules = rules

    def review(self, request: AuthorizationRequest, originator: str = "") -> ReviewResponse:
        """The payer's first answer: rejected (AAA), or certified / modified / pended / not certified."""
        return self._answer(request, originator, after_pend=False)

    def final_review(self, request: AuthorizationRequest, originator: str = "") -> ReviewResponse:
        """The answer a pended review gets once the payer's reviewer has looked at it (``then`` of the rule)."""
        return self._answer(request, originator, after_pend=True)

    def _answer(self, request: AuthorizationRequest, originator: str, *, after_pend: bool) -> ReviewResponse:
        rejections = tuple(
            Rejection(PARTY_LOOPS[rule.party], rule.reject_reason, rule.follow_up)
            for rule in self.rules.validation if rule.payer_id in (request.payer_id, "*") and rule.fails(request))
        if rejections:
            return ReviewResponse(request.trace_number, originator, rejections=rejections, payer_id=request.payer_id)
        rules = [self.rules.rule_for(request.payer_id, s.cpt_code, request.start) for s in request.services]
        if after_pend:
            rules = [replace(r, decision=r.then, then="") if r.decision == "pend" else r for r in rules]
        certifying = [r for r in rules if r.decision == "certify"]
        unit_cap = min((r.max_units for r in certifying), default=0)
        day_cap = min((r.max_days for r in certifying), default=1)
        end = min(request.end, request.start + timedelta(days=day_cap - 1))
        principal = request.diagnosis_codes[0] if request.diagnosis_codes else ""
        outcomes: list[ServiceOutcome] = []
        for service, rule in zip(request.services, rules, strict=True):
            if rule.decision == "certify" and not principal.startswith(rule.diagnosis_prefixes):
                outcomes.append(ServiceOutcome(service.cpt_code, service.units, "A3",
                                               reason_code=rule.not_medically_necessary_reason))
            elif rule.decision == "certify" and min(rule.max_units, unit_cap) <= 0:  # the visits ran out
                outcomes.append(ServiceOutcome(service.cpt_code, service.units, "A3",
                                               reason_code=rule.modified_reason))
            elif rule.decision == "certify":
                approved = min(service.units, rule.max_units, unit_cap)
                unit_cap -= approved
                full = approved == service.units and end == request.end
                outcomes.append(ServiceOutcome(service.cpt_code, service.units, "A1" if full else "A6",
                                               reason_code="" if full else rule.modified_reason,
                                               approved_units=approved, start=request.start, end=end))
            else:
                outcomes.append(ServiceOutcome(service.cpt_code, service.units,
                                               "A4" if rule.decision == "pend" else "A3", reason_code=rule.reason))
        action = overall_action([o.action for o in outcomes])
        certified = [o for o in outcomes if o.action in CERTIFIED_ACTIONS]
        number = _number("SBX", request.trace_number) if certified else ""
        outcomes = [replace(o, certification_number=number) if o.action in CERTIFIED_ACTIONS else o
                    for o in outcomes]
        reason = next((o.reason_code for o in outcomes if o.action == action and o.reason_code), "")
        if action == "A6" and not reason:
            reason = next((o.reason_code for o in outcomes if o.reason_code), "")
        return ReviewResponse(
            trace_number=request.trace_number, trace_originator=originator, action=action,
            certification_number=number, reason_code=reason,
            administrative_reference="" if certified else _number("SBXR", request.trace_number),
            previous_authorization_number=request.previous_authorization_number,
            start=request.start if certified else None, end=end if certified else None,
            approved_units=sum(o.approved_units or 0 for o in certified) if certified else None,
            services=tuple(outcomes), payer_id=request.payer_id,
        )

    # ------------------------------------------------------------------------------------------ as a payer

    def answer_278(self, request_278: str, control: ControlNumbers, parties: InterchangeParties) -> str:
        """The 278 response to a 278 request (``X12SyntaxError`` when the request cannot be read)."""
        request = read_278(request_278)
        return build_278_response(request, self.review(request, trace_originator_of(request_278)), control, parties)

    def answer_pas(self, bundle: Mapping[str, Any], created: datetime) -> dict[str, Any]:
        """The PAS response Bundle to a PAS request Bundle (``PasFormatError`` when it cannot be read)."""
        request, originator = read_pas_request(bundle)
        return build_pas_response(request, self.review(request, originator), created=created)
