"""Self-pay prices, owned by patient billing: fee schedules, the sliding scale and the no-show / late-cancel fees
of the practice's written financial policy. Every number comes from a rules file (``domain/rules/``), dated;
the functions here only read them. Amounts are integer cents.

* Fee schedules: a visit's primary procedure code gives its appointment type (intake or follow-up); the rendering
  clinician's credential gives a level; the fee in force on the date of service is the most specific row for
  (appointment type, level, program), ``*`` matching anything.
* Sliding scale: the written policy's tiers by household income as a share of the federal poverty guideline for
  the household's size. A tier applies on a date of service only while the proof of income on file covers it
  (received on or before, not expired); an expired proof means the full fee and a re-assessment.
* Financial policy: a no-show or late-cancel fee only with the patient's signed consent on file, waivable with a
  reason, billed to the patient and never to a payer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from patient_billing.domain.exceptions import NoFeeScheduled, RulesNotInForce

ANY = "*"


def _cents(value: Any, where: str) -> int:
    amount = Decimal(str(value))
    if amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValueError(f"{where}: {value!r} is not a non-negative amount in cents")
    return int(amount * 100)


def _day(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not a date") from None


def _in_force(entries: Sequence[Any], day: date) -> Any:
    found = [e for e in entries if e.effective_from <= day and (e.effective_to is None or day <= e.effective_to)]
    return max(found, key=lambda e: e.effective_from, default=None)


@dataclass(frozen=True)
class AppointmentType:
    name: str
    intake: bool


@dataclass(frozen=True)
class Fee:
    appointment_type: str
    level: str
    program: str
    amount: int

    def specificity(self) -> int:
        return (self.level != ANY) + 2 * (self.program != ANY)


@dataclass(frozen=True)
class FeeSchedule:
    schedule_id: str
    effective_from: date
    effective_to: date | None
    fees: tuple[Fee, ...]


@dataclass(frozen=True)
class Price:
    amount: int  # the full fee, before any sliding-scale tier
    rule: str  # e.g. fee-2026:psychotherapy-60/licensed-therapist/*
    appointment_type: str
    intake: bool


@dataclass(frozen=True)
class FeeRules:
    version: str
    appointment_types: Mapping[str, AppointmentType]  # procedure code -> type
    credential_levels: Mapping[str, str]  # credential -> level
    schedules: tuple[FeeSchedule, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeeRules:
        types = {str(code): AppointmentType(str(v["type"]), bool(v.get("intake", False)))
                 for code, v in (data.get("appointment_types") or {}).items()}
        levels = {str(k).upper(): str(v) for k, v in (data.get("credential_levels") or {}).items()}
        schedules = []
        for n, s in enumerate(data.get("schedules") or []):
            where = f"schedules[{n}]"
            fees = tuple(Fee(str(f["appointment_type"]), str(f.get("level", ANY)), str(f.get("program", ANY)),
                             _cents(f["fee"], f"{where}.fees[{i}].fee")) for i, f in enumerate(s["fees"]))
            unknown = {f.appointment_type for f in fees} - {t.name for t in types.values()}
            if unknown:
                raise ValueError(f"{where}: appointment types not in appointment_types: {sorted(unknown)}")
            schedules.append(FeeSchedule(str(s["id"]), _day(s["effective_from"], f"{where}.effective_from"),
                                         _day(s["effective_to"], where) if s.get("effective_to") else None, fees))
        if not schedules:
            raise ValueError("schedules: at least one fee schedule is required")
        return cls(str(data.get("version", "")), types, levels, tuple(schedules))

    def level_of(self, credential: str | None) -> str:
        return self.credential_levels.get((credential or "").upper(), ANY)

    def price(self, procedure_codes: Sequence[str], credential: str | None, program: str | None, day: date) -> Price:
        """The full self-pay fee of a visit on ``day``: its first procedure code with an appointment type."""
        appointment = next((self.appointment_types[c] for c in procedure_codes if c in self.appointment_types), None)
        if appointment is None:
            raise NoFeeScheduled("no appointment type for the visit's procedure codes", field="services")
        schedule: FeeSchedule | None = _in_force(self.schedules, day)
        if schedule is None:
            raise RulesNotInForce(f"no fee schedule in force on {day.isoformat()}", field="date_of_service")
        level = self.level_of(credential)
        candidates = [f for f in schedule.fees if f.appointment_type == appointment.name
                      and f.level in (level, ANY) and f.program in ((program or ANY), ANY)]
        if not candidates:
            raise NoFeeScheduled("no fee for this appointment type, credential level and program",
                                 field="services")
        fee = max(candidates, key=Fee.specificity)
        return Price(fee.amount, f"{schedule.schedule_id}:{fee.appointment_type}/{fee.level}/{fee.program}",
                     appointment.name, appointment.intake)


@dataclass(frozen=True)
class Tier:
    name: str
    max_percent_of_poverty: int | None  # None: the last tier, everything above the others
    percent_of_fee: int  # what the patient pays, as a share of the full fee


@dataclass(frozen=True)
class SlidingScalePolicy:
    policy_id: str
    effective_from: date
    effective_to: date | None
    proof_valid_days: int
    poverty_base: int  # the guideline for a household of one, cents a year
    poverty_per_person: int  # added for each further person
    minimum_fee: int
    tiers: tuple[Tier, ...]

    def poverty_line(self, household_size: int) -> int:
        return self.poverty_base + self.poverty_per_person * (household_size - 1)

    def tier_for(self, household_size: int, annual_income: int) -> Tier:
        if household_size < 1:
            raise ValueError("household_size is at least 1")
        percent = Decimal(annual_income) * 100 / Decimal(self.poverty_line(household_size))
        for tier in self.tiers:
            if tier.max_percent_of_poverty is None or percent <= tier.max_percent_of_poverty:
                return tier
        raise AssertionError("the last tier is open-ended (checked when the rules load)")

    def discounted(self, full_fee: int, tier: Tier) -> int:
        """What the patient pays at ``tier``: a share of the full fee, never below the policy's minimum (nor above
        the full fee)."""
        share = (full_fee * tier.percent_of_fee + 50) // 100
        return min(full_fee, max(share, self.minimum_fee))


@dataclass(frozen=True)
class SlidingScaleRules:
    version: str
    policies: tuple[SlidingScalePolicy, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SlidingScaleRules:
        policies = []
        for n, p in enumerate(data.get("policies") or []):
            where = f"policies[{n}]"
            tiers = tuple(Tier(str(t["tier"]), int(t["max_percent_of_poverty"])
                               if t.get("max_percent_of_poverty") is not None else None, int(t["percent_of_fee"]))
                          for t in p["tiers"])
            if not tiers or tiers[-1].max_percent_of_poverty is not None:
                raise ValueError(f"{where}.tiers: the last tier has no max_percent_of_poverty (everyone above)")
            if any(not 0 <= t.percent_of_fee <= 100 for t in tiers):
                raise ValueError(f"{where}.tiers: percent_of_fee is 0 to 100")
            guideline = p["poverty_guideline"]
            policies.append(SlidingScalePolicy(
                str(p["id"]), _day(p["effective_from"], f"{where}.effective_from"),
                _day(p["effective_to"], where) if p.get("effective_to") else None, int(p["proof_valid_days"]),
                _cents(guideline["household_of_one"], f"{where}.poverty_guideline.household_of_one"),
                _cents(guideline["each_additional_person"], f"{where}.poverty_guideline.each_additional_person"),
                _cents(p.get("minimum_fee", "0"), f"{where}.minimum_fee"), tiers))
        if not policies:
            raise ValueError("policies: the practice's written sliding-scale policy is required")
        return cls(str(data.get("version", "")), tuple(policies))

    def policy_on(self, day: date) -> SlidingScalePolicy:
        policy: SlidingScalePolicy | None = _in_force(self.policies, day)
        if policy is None:
            raise RulesNotInForce(f"no sliding-scale policy in force on {day.isoformat()}", field="date")
        return policy


@dataclass(frozen=True)
class IncomeAssessment:
    """A patient's household size and income, with the proof on file and the tier it gave."""

    assessment_id: str
    patient_id: str
    household_size: int
    annual_income: int
    proof_received_on: date
    proof_expires_on: date
    tier: str
    policy_id: str
    percent_of_fee: int

    def covers(self, day: date) -> bool:
        return self.proof_received_on <= day <= self.proof_expires_on


def assess_income(rules: SlidingScaleRules, *, assessment_id: str, patient_id: str, household_size: int,
                  annual_income: int, proof_received_on: date) -> IncomeAssessment:
    """The tier the written policy in force on the proof's date gives, valid for the policy's proof period."""
    policy = rules.policy_on(proof_received_on)
    tier = policy.tier_for(household_size, annual_income)
    return IncomeAssessment(assessment_id, patient_id, household_size, annual_income, proof_received_on,
                            proof_received_on + timedelta(days=policy.proof_valid_days), tier.name,
                            policy.policy_id, tier.percent_of_fee)


def tier_on(assessments: Sequence[IncomeAssessment], day: date) -> IncomeAssessment | None:
    """The assessment whose proof covers the date of service (the latest received), or None: full fee."""
    covering = [a for a in assessments if a.covers(day)]
    return max(covering, key=lambda a: (a.proof_received_on, a.assessment_id), default=None)


@dataclass(frozen=True)
class FinancialPolicy:
    policy_id: str
    effective_from: date
    effective_to: date | None
    fees: Mapping[str, int]  # outcome (no_show, late_cancel) -> fee
    consent_required: bool


@dataclass(frozen=True)
class FinancialPolicyRules:
    version: str
    policies: tuple[FinancialPolicy, ...]

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FinancialPolicyRules:
        policies = []
        for n, p in enumerate(data.get("policies") or []):
            where = f"policies[{n}]"
            fees = {str(k): _cents(v, f"{where}.fees.{k}") for k, v in (p.get("fees") or {}).items()}
            unknown = set(fees) - {"no_show", "late_cancel"}
            if unknown:
                raise ValueError(f"{where}.fees: only no_show and late_cancel are fees, not {sorted(unknown)}")
            policies.append(FinancialPolicy(str(p["id"]), _day(p["effective_from"], f"{where}.effective_from"),
                                            _day(p["effective_to"], where) if p.get("effective_to") else None,
                                            fees, bool(p.get("consent_required", True))))
        if not policies:
            raise ValueError("policies: the practice's written financial policy is required")
        return cls(str(data.get("version", "")), tuple(policies))

    def fee_for(self, outcome: str, day: date, consent_signed_on: date | None) -> tuple[int, str] | None:
        """The fee for a missed appointment on ``day``, and the rule that set it; None when the policy charges
        nothing for it or the patient has not signed the policy (consent on file on or before the day)."""
        policy: FinancialPolicy | None = _in_force(self.policies, day)
        if policy is None:
            raise RulesNotInForce(f"no financial policy in force on {day.isoformat()}", field="service_date")
        amount = policy.fees.get(outcome, 0)
        if not amount:
            return None
        if policy.consent_required and (consent_signed_on is None or consent_signed_on > day):
            return None
        return amount, f"{policy.policy_id}:{outcome}"


@dataclass(frozen=True)
class PricingRules:
    """Every rules file of patient billing, read once by the composition root and handed to the use cases."""

    fees: FeeRules
    sliding_scale: SlidingScaleRules
    financial_policy: FinancialPolicyRules
