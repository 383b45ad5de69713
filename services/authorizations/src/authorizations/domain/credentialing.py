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
date of service, for the clinician's credential when the policy names credentials) and a supervision relationship
is in force with a supervisor who is enrolled for that payer and plan on that date, the visit is allowed with
``billing_npi`` = the supervisor. The policy also says how the 837P names them (``report_supervisor_as``):
``rendering`` puts the supervisor in the rendering loop (2310B) and leaves the clinician off; ``supervising`` keeps
the clinician in 2310B and names the supervisor in 2310D. The decision carries both NPIs, so the claim reports
exactly what was decided here: this registry is the one place supervisor billing is decided.

A practice's own policies (recorded through the API) come before the payer defaults packaged with the service
(``rules/supervision_policies.yaml``); a plan-specific policy before a payer-wide one.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from authorizations.domain.exceptions import InvalidRegistryEntry


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


class SupervisorReportedAs(enum.StrEnum):
    RENDERING = "rendering"  # 2310B: the supervisor; the clinician is not named
    SUPERVISING = "supervising"  # 2310B: the clinician; 2310D: the supervisor


@dataclass(frozen=True, slots=True)
class SupervisionPolicy:
    """Whether ``payer_id`` accepts claims billed under a supervisor's NPI (``plan`` empty = all plans), for which
    credentials of the supervised clinician (empty = any), and how the claim names the two."""

    payer_id: str
    allows_supervisor_billing: bool
    effective_from: date
    effective_to: date | None = None
    plan: str = ""
    credentials: frozenset[str] = frozenset()
    report_supervisor_as: SupervisorReportedAs = SupervisorReportedAs.RENDERING

    def accepts(self, credential: str) -> bool:
        return self.allows_supervisor_billing and (not self.credentials or credential.upper() in self.credentials)


class CredentialingReason(enum.StrEnum):
    ENROLLED = "enrolled"
    BILLED_UNDER_SUPERVISOR = "billed_under_supervisor"
    NOT_ENROLLED_WITH_PAYER = "not_enrolled_with_payer"
    NOT_ENROLLED_IN_PLAN = "not_enrolled_in_plan"  # e.g. enrolled for medical plans, not the BH carve-out plan
    ENROLLMENT_NOT_IN_FORCE = "enrollment_not_in_force"  # enrolled, but not on this date of service
    SUPERVISOR_NOT_ENROLLED = "supervisor_not_enrolled"
    # supervised, but the payer does not take supervisor billing for this credential (or none was given)
    CREDENTIAL_NOT_BILLABLE_UNDER_SUPERVISOR = "credential_not_billable_under_supervisor"


@dataclass(frozen=True, slots=True)
class CredentialingDecision:
    """``billing_npi``: the enrolled NPI the payer is billed under; ``rendering_npi`` / ``supervising_npi``: who the
    837P names in 2310B / 2310D (None when not allowed, or no 2310D)."""

    allowed: bool
    billing_npi: str | None
    reason: CredentialingReason
    rendering_npi: str | None = None
    supervising_npi: str | None = None


@dataclass
class CredentialingRegistry:
    enrollments: list[Enrollment] = field(default_factory=list)
    supervisions: list[Supervision] = field(default_factory=list)
    policies: list[SupervisionPolicy] = field(default_factory=list)  # the practice's own
    payer_defaults: list[SupervisionPolicy] = field(default_factory=list)  # rules/supervision_policies.yaml

    def enroll(self, enrollment: Enrollment) -> None:
        if enrollment.effective_to is not None and enrollment.effective_to < enrollment.effective_from:
            raise InvalidRegistryEntry("the enrollment ends before it starts", field="effective_to")
        if enrollment not in self.enrollments:
            self.enrollments.append(enrollment)

    def supervise(self, supervision: Supervision) -> None:
        if supervision.supervisee_npi == supervision.supervisor_npi:
            raise InvalidRegistryEntry("a clinician cannot supervise themselves", field="supervisor_npi")
        if supervision not in self.supervisions:
            self.supervisions.append(supervision)

    def set_policy(self, policy: SupervisionPolicy) -> None:
        if policy not in self.policies:
            self.policies.append(policy)

    def _enrolled(self, npi: str, payer_id: str, plan: str, day: date) -> bool:
        return any(e.npi == npi and e.covers(payer_id, plan, day) for e in self.enrollments)

    def supervision_policy(self, payer_id: str, plan: str, day: date) -> SupervisionPolicy | None:
        """The policy in force: the practice's own before the payer defaults, a plan's before the payer-wide one."""
        for source in (self.policies, self.payer_defaults):
            policies = [
                p for p in source
                if p.payer_id == payer_id and p.plan in ("", plan)
                and _in_force(p.effective_from, p.effective_to, day)
            ]
            if policies:
                return max(policies, key=lambda p: (p.plan != "", p.effective_from))
        return None

    def is_credentialed(self, npi: str, payer_id: str, plan: str, dos: date,
                        credential: str = "") -> CredentialingDecision:
        """May ``npi`` (holding ``credential``) be billed to the payer for a visit on ``dos``, and under whom."""
        if self._enrolled(npi, payer_id, plan, dos):
            return CredentialingDecision(True, npi, CredentialingReason.ENROLLED, rendering_npi=npi)
        policy = self.supervision_policy(payer_id, plan, dos)
        if policy is not None and policy.allows_supervisor_billing:
            supervisors = sorted(
                s.supervisor_npi for s in self.supervisions
                if s.supervisee_npi == npi and _in_force(s.effective_from, s.effective_to, dos)
            )
            if supervisors and not policy.accepts(credential):
                return CredentialingDecision(False, None, CredentialingReason.CREDENTIAL_NOT_BILLABLE_UNDER_SUPERVISOR)
            for supervisor in supervisors:
                if self._enrolled(supervisor, payer_id, plan, dos):
                    if policy.report_supervisor_as is SupervisorReportedAs.SUPERVISING:
                        return CredentialingDecision(True, supervisor, CredentialingReason.BILLED_UNDER_SUPERVISOR,
                                                     rendering_npi=npi, supervising_npi=supervisor)
                    return CredentialingDecision(True, supervisor, CredentialingReason.BILLED_UNDER_SUPERVISOR,
                                                 rendering_npi=supervisor)
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
        for policy in supervision_policies(data):
            registry.set_policy(policy)
        return registry


def supervision_policies(data: Mapping[str, object]) -> list[SupervisionPolicy]:
    """The ``supervision_policies`` of a document (the packaged payer defaults, or a registry's)."""
    policies = []
    for item in _objects(data, "supervision_policies"):
        allows = item.get("allows_supervisor_billing")
        if not isinstance(allows, bool):
            raise ValueError("credentialing: allows_supervisor_billing must be true or false")
        credentials = item.get("credentials", [])
        if not isinstance(credentials, list) or not all(isinstance(c, str) for c in credentials):
            raise ValueError("credentialing: credentials must be a list of strings")
        try:
            reported_as = SupervisorReportedAs(_text(item, "report_supervisor_as", "rendering"))
        except ValueError:
            raise ValueError("credentialing: report_supervisor_as must be rendering or supervising") from None
        policies.append(SupervisionPolicy(
            payer_id=_text(item, "payer_id"), allows_supervisor_billing=allows,
            effective_from=_day(item, "effective_from"), effective_to=_opt_day(item, "effective_to"),
            plan=_text(item, "plan", ""), credentials=frozenset(c.upper() for c in credentials),
            report_supervisor_as=reported_as,
        ))
    return policies


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
    value = item.get(key)
    if isinstance(value, date):  # YAML reads an unquoted ISO date as a date
        return value
    return date.fromisoformat(_text(item, key))


def _opt_day(item: Mapping[str, object], key: str) -> date | None:
    value = item.get(key)
    return None if value is None else _day(item, key)
