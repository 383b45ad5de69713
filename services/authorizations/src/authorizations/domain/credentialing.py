"""CredentialingRegistry: which clinician (NPI) is enrolled with which payer and plan, when, and who may bill for
whom under supervision.

Why here: payer enrollment is a front-of-cycle gate like prior authorization (both answer "may this visit be
billed to this payer?" before the claim exists) and both are per-payer, effective-dated facts the scheduling
and claim scrubbing steps query; keeping them in one service avoids a third small service.

    registry = CredentialingRegistry.from_dict(data)
    decision = registry.is_credentialed(npi, payer_id, plan, dos)
    decision.allowed, decision.billing_npi, decision.reason

Rules: an enrollment with ``plan`` empty covers every plan of the payer, otherwise only that plan (e.g. only the
behavioral-health carve-out plan). Dates are inclusive on both ends; ``effective_to`` empty means open-ended.
If the clinician is not enrolled but the payer lets a supervisor bill (a ``SupervisionPolicy`` in force on the
date of service) and a supervision relationship is in force with a supervisor who is enrolled for that payer and
plan on that date, the visit is allowed with ``billing_npi`` = the supervisor.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date


def _in_force(start: date, end: date | None, day: date) -> bool:
    return start <= day and (end is None or day <= end)


@dataclass(frozen=True, slots=True)
class Enrollment:
    npi: str
    payer_id: str
    plan: str  # "" = every plan of the payer
    effective_from: date
    effective_to: date | None = None

    def covers(self, payer_id: str, plan: str, day: date) -> bool:
        return self.payer_id == payer_id and self.plan in ("", plan) and _in_force(
            self.effective_from, self.effective_to, day
        )


@dataclass(frozen=True, slots=True)
class Supervision:
    supervisee_npi: str
    supervisor_npi: str
    effective_from: date
    effective_to: date | None = None


@dataclass(frozen=True, slots=True)
class SupervisionPolicy:
    """Whether ``payer_id`` accepts claims billed under a supervisor's NPI (``plan`` empty = all plans)."""

    payer_id: str
    allows_supervisor_billing: bool
    effective_from: date
    effective_to: date | None = None
    plan: str = ""


class CredentialingReason(enum.StrEnum):
    ENROLLED = "enrolled"
    BILLED_UNDER_SUPERVISOR = "billed_under_supervisor"
    NOT_ENROLLED_WITH_PAYER = "not_enrolled_with_payer"
    NOT_ENROLLED_IN_PLAN = "not_enrolled_in_plan"  # e.g. enrolled for medical plans, not the BH carve-out plan
    ENROLLMENT_NOT_IN_FORCE = "enrollment_not_in_force"  # enrolled, but not on this date of service
    SUPERVISOR_NOT_ENROLLED = "supervisor_not_enrolled"


@dataclass(frozen=True, slots=True)
class CredentialingDecision:
    allowed: bool
    billing_npi: str | None
    reason: CredentialingReason


@dataclass
class CredentialingRegistry:
    enrollments: list[Enrollment] = field(default_factory=list)
    supervisions: list[Supervision] = field(default_factory=list)
    policies: list[SupervisionPolicy] = field(default_factory=list)

    def enroll(self, enrollment: Enrollment) -> None:
        if enrollment.effective_to is not None and enrollment.effective_to < enrollment.effective_from:
            raise ValueError("enrollment ends before it starts")
        if enrollment not in self.enrollments:
            self.enrollments.append(enrollment)

    def supervise(self, supervision: Supervision) -> None:
        if supervision.supervisee_npi == supervision.supervisor_npi:
            raise ValueError("a clinician cannot supervise themselves")
        if supervision not in self.supervisions:
            self.supervisions.append(supervision)

    def set_policy(self, policy: SupervisionPolicy) -> None:
        if policy not in self.policies:
            self.policies.append(policy)

    def _enrolled(self, npi: str, payer_id: str, plan: str, day: date) -> bool:
        return any(e.npi == npi and e.covers(payer_id, plan, day) for e in self.enrollments)

    def _supervisor_billing_allowed(self, payer_id: str, plan: str, day: date) -> bool:
        policies = [
            p for p in self.policies
            if p.payer_id == payer_id and p.plan in ("", plan) and _in_force(p.effective_from, p.effective_to, day)
        ]
        # a plan-specific policy beats the payer-wide one
        policies.sort(key=lambda p: p.plan != "", reverse=True)
        return bool(policies) and policies[0].allows_supervisor_billing

    def is_credentialed(self, npi: str, payer_id: str, plan: str, dos: date) -> CredentialingDecision:
        if self._enrolled(npi, payer_id, plan, dos):
            return CredentialingDecision(True, npi, CredentialingReason.ENROLLED)
        if self._supervisor_billing_allowed(payer_id, plan, dos):
            supervisors = sorted(
                s.supervisor_npi for s in self.supervisions
                if s.supervisee_npi == npi and _in_force(s.effective_from, s.effective_to, dos)
            )
            for supervisor in supervisors:
                if self._enrolled(supervisor, payer_id, plan, dos):
                    return CredentialingDecision(True, supervisor, CredentialingReason.BILLED_UNDER_SUPERVISOR)
            if supervisors:
                return CredentialingDecision(False, None, CredentialingReason.SUPERVISOR_NOT_ENROLLED)
        own = [e for e in self.enrollments if e.npi == npi and e.payer_id == payer_id]
        if not own:
            reason = CredentialingReason.NOT_ENROLLED_WITH_PAYER
        elif not any(e.plan in ("", plan) for e in own):
            reason = CredentialingReason.NOT_ENROLLED_IN_PLAN
        else:
            reason = CredentialingReason.ENROLLMENT_NOT_IN_FORCE
        return CredentialingDecision(False, None, reason)

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> CredentialingRegistry:
        registry = cls()
        for item in _objects(data, "enrollments"):
            registry.enroll(Enrollment(
                npi=_text(item, "npi"), payer_id=_text(item, "payer_id"), plan=_text(item, "plan", ""),
                effective_from=_day(item, "effective_from"), effective_to=_opt_day(item, "effective_to"),
            ))
        for item in _objects(data, "supervisions"):
            registry.supervise(Supervision(
                supervisee_npi=_text(item, "supervisee_npi"), supervisor_npi=_text(item, "supervisor_npi"),
                effective_from=_day(item, "effective_from"), effective_to=_opt_day(item, "effective_to"),
            ))
        for item in _objects(data, "supervision_policies"):
            allows = item.get("allows_supervisor_billing")
            if not isinstance(allows, bool):
                raise ValueError("credentialing: allows_supervisor_billing must be true or false")
            registry.set_policy(SupervisionPolicy(
                payer_id=_text(item, "payer_id"), allows_supervisor_billing=allows,
                effective_from=_day(item, "effective_from"), effective_to=_opt_day(item, "effective_to"),
                plan=_text(item, "plan", ""),
            ))
        return registry


def _objects(data: Mapping[str, object], key: str) -> list[Mapping[str, object]]:
    raw = data.get(key, [])
    if not isinstance(raw, list) or not all(isinstance(i, Mapping) for i in raw):
        raise ValueError(f"credentialing: {key} must be a list of objects")
    return raw


def _text(item: Mapping[str, object], key: str, default: str | None = None) -> str:
    value = item.get(key, default)
    if not isinstance(value, str):
        raise ValueError(f"credentialing: {key} must be a string")
    return value


def _day(item: Mapping[str, object], key: str) -> date:
    return date.fromisoformat(_text(item, key))


def _opt_day(item: Mapping[str, object], key: str) -> date | None:
    value = item.get(key)
    return None if value is None else _day(item, key)
