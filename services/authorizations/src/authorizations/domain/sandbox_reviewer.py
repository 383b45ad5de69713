"""A sandbox utilization reviewer: approves or denies 278 requests by rules given as data.

``SandboxReviewer(ReviewRules.from_dict(data)).review(text_278) -> ReviewDecision``. Rules (shipped:
``rules/sandbox_reviewer.json``) are per payer (``"*"`` default) and CPT list, effective-dated, with: whether the
request is approved at all, the diagnosis prefixes that show medical necessity (F for mental health), the most
visits one approval may carry and the longest date span; a request over those limits is approved *modified*
(fewer units / shorter span). The authorization number is derived from the trace number (deterministic).
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from authorizations.domain.model import Authorization, AuthorizationStatus
from authorizations.domain.x12_278 import AuthorizationRequest, read_278


class ReviewStatus(enum.StrEnum):
    APPROVED = "approved"
    MODIFIED = "modified"  # approved with fewer units or a shorter span than asked
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class ReviewRule:
    payer_id: str
    cpt_codes: frozenset[str]
    approve: bool
    diagnosis_prefixes: tuple[str, ...] = ("F",)
    max_units: int = 12
    max_days: int = 90
    effective_from: date = date.min
    effective_to: date | None = None
    denial_reason: str = "not_covered"

    def applies(self, payer_id: str, cpt_code: str, day: date) -> bool:
        return (
            self.payer_id in (payer_id, "*") and cpt_code in self.cpt_codes and self.effective_from <= day
            and (self.effective_to is None or day <= self.effective_to)
        )


@dataclass(frozen=True, slots=True)
class ReviewRules:
    rules: tuple[ReviewRule, ...]

    def rule_for(self, payer_id: str, cpt_code: str, day: date) -> ReviewRule | None:
        matching = [r for r in self.rules if r.applies(payer_id, cpt_code, day)]
        return max(matching, key=lambda r: r.payer_id != "*") if matching else None

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> ReviewRules:
        raw = data.get("rules")
        if not isinstance(raw, list):
            raise ValueError("review rules: rules must be a list")
        out = []
        for i, item in enumerate(raw):
            if not isinstance(item, Mapping):
                raise ValueError(f"review rules: rules[{i}] must be an object")
            payer, codes, approve = item.get("payer_id"), item.get("cpt_codes"), item.get("approve")
            prefixes = item.get("diagnosis_prefixes", ["F"])
            start, end = item.get("effective_from"), item.get("effective_to")
            max_units, max_days = item.get("max_units", 12), item.get("max_days", 90)
            reason = item.get("denial_reason", "not_covered")
            if (
                not isinstance(payer, str) or not isinstance(approve, bool) or not isinstance(codes, list)
                or not all(isinstance(c, str) for c in codes) or not isinstance(prefixes, list)
                or not all(isinstance(p, str) for p in prefixes) or not isinstance(start, str)
                or not (end is None or isinstance(end, str)) or not isinstance(max_units, int)
                or not isinstance(max_days, int) or not isinstance(reason, str)
            ):
                raise ValueError(f"review rules: rules[{i}] has a missing or mistyped field")
            out.append(ReviewRule(
                payer_id=payer, cpt_codes=frozenset(codes), approve=approve, diagnosis_prefixes=tuple(prefixes),
                max_units=max_units, max_days=max_days, effective_from=date.fromisoformat(start),
                effective_to=date.fromisoformat(end) if end else None, denial_reason=reason,
            ))
        return cls(tuple(out))


@dataclass(frozen=True, slots=True)
class ReviewDecision:
    trace_number: str
    status: ReviewStatus
    authorization_number: str
    approved_units: int
    start: date
    end: date
    cpt_codes: frozenset[str]
    reason: str = ""

    def to_authorization(self, patient_id: str, payer_id: str) -> Authorization:
        """The authorization to add to the ledger (a denial is recorded as DENIED, zero units)."""
        return Authorization(
            number=self.authorization_number, patient_id=patient_id, payer_id=payer_id, cpt_codes=self.cpt_codes,
            approved_units=self.approved_units, start=self.start, end=self.end,
            status=AuthorizationStatus.DENIED if self.status is ReviewStatus.DENIED else AuthorizationStatus.APPROVED,
        )


class SandboxReviewer:
    def __init__(self, rules: ReviewRules) -> None:
        self.rules = rules

    def review(self, text_278: str) -> ReviewDecision:
        return self.decide(read_278(text_278))

    def decide(self, request: AuthorizationRequest) -> ReviewDecision:
        number = "SBX" + hashlib.sha256(request.trace_number.encode()).hexdigest()[:10].upper()
        codes = frozenset(s.cpt_code for s in request.services)

        def deny(reason: str) -> ReviewDecision:
            return ReviewDecision(request.trace_number, ReviewStatus.DENIED, number, 0, request.start, request.end,
                                  codes, reason)

        rules = [self.rules.rule_for(request.payer_id, s.cpt_code, request.start) for s in request.services]
        if any(rule is None for rule in rules):
            return deny("no_rule_for_service")
        max_units = request.total_units
        max_days = (request.end - request.start).days + 1
        for rule in rules:
            assert rule is not None
            if not rule.approve:
                return deny(rule.denial_reason)
            if not request.diagnosis_codes or not request.diagnosis_codes[0].startswith(rule.diagnosis_prefixes):
                return deny("medical_necessity_not_shown")
            max_units = min(max_units, rule.max_units)
            max_days = min(max_days, rule.max_days)
        end = min(request.end, request.start + timedelta(days=max_days - 1))
        modified = max_units < request.total_units or end < request.end
        return ReviewDecision(
            request.trace_number, ReviewStatus.MODIFIED if modified else ReviewStatus.APPROVED, number, max_units,
            request.start, end, codes, "limited_by_payer_rules" if modified else "",
        )
