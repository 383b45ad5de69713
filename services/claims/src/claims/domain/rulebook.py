"""Coding rules, payer terms and fee schedules as data: frozen dataclasses and their pure loaders.

The YAML documents ship in ``claims/domain/rules/`` (``coding.yaml``, ``payers.yaml``, ``fees.yaml``);
an adapter reads the files and hands the text to :meth:`Rulebook.from_yaml` (or parsed dicts to
:meth:`Rulebook.from_documents`). Everything is effective-dated: :meth:`Rulebook.coding_ruleset`,
:meth:`Rulebook.payer_terms` and :meth:`Rulebook.fee` return what was in force on the date asked for.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar

import yaml

from claims.domain.exceptions import InvalidRules, RulesetNotFound

CENT = Decimal("0.01")


class _Dated(Protocol):
    @property
    def effective_from(self) -> date: ...

    @property
    def effective_to(self) -> date | None: ...


_D = TypeVar("_D", bound=_Dated)


def _in_force(items: Sequence[_D], on: date) -> _D | None:
    for item in items:
        if item.effective_from <= on and (item.effective_to is None or on <= item.effective_to):
            return item
    return None


def _check_no_overlap(items: Sequence[_Dated], where: str) -> None:
    ordered = sorted(items, key=lambda i: i.effective_from)
    for earlier, later in zip(ordered, ordered[1:], strict=False):
        if earlier.effective_to is None or earlier.effective_to >= later.effective_from:
            raise InvalidRules(f"{where}: effective periods overlap")


# ---------------------------------------------------------------- coding ruleset


@dataclass(frozen=True, slots=True)
class TimeBand:
    """Minutes ``low``..``high`` (inclusive; ``high`` None = open) code as ``alone`` or, with an E/M, ``with_em``."""

    rule_id: str
    low: int
    high: int | None
    alone: str
    with_em: str | None

    def contains(self, minutes: int) -> bool:
        return minutes >= self.low and (self.high is None or minutes <= self.high)


@dataclass(frozen=True, slots=True)
class CrisisRule:
    rule_id: str
    addon_rule_id: str
    short_rule_id: str
    first_code: str
    minimum: int
    first_to: int
    addon_code: str
    addon_block: int

    def addon_units(self, minutes: int) -> int:
        """90840 units: one per started block past ``first_to`` (75-104 one, 105-134 two, ...)."""
        if minutes <= self.first_to:
            return 0
        return (minutes - self.first_to - 1) // self.addon_block + 1


@dataclass(frozen=True, slots=True)
class CodeRule:
    rule_id: str
    code: str


@dataclass(frozen=True, slots=True)
class FamilyRule:
    minimum: int
    without_patient: CodeRule
    with_patient: CodeRule


@dataclass(frozen=True, slots=True)
class InteractiveComplexityRule:
    rule_id: str
    code: str
    allowed_with: frozenset[str]
    never_with: frozenset[str]


@dataclass(frozen=True, slots=True)
class DigitalBand:
    rule_id: str
    low: int
    high: int | None
    qhp: str
    em_capable: str

    def contains(self, minutes: int) -> bool:
        return minutes >= self.low and (self.high is None or minutes <= self.high)


@dataclass(frozen=True, slots=True)
class TelehealthCoding:
    pos_rule_id: str
    modifier_rule_id: str
    place_of_service_codes: frozenset[str]
    modifiers: frozenset[str]


@dataclass(frozen=True, slots=True)
class ClaimLimits:
    max_lines: int
    max_diagnoses: int
    max_pointers_per_line: int


@dataclass(frozen=True, slots=True)
class CodingRuleset:
    version: str
    effective_from: date
    effective_to: date | None
    psychotherapy_bands: tuple[TimeBand, ...]
    psychotherapy_short_add_on_rule_id: str  # an E/M whose psychotherapy is under the first band: reported alone
    crisis: CrisisRule
    family: FamilyRule
    untimed: Mapping[str, CodeRule]
    em_rule_id: str
    em_codes: frozenset[str]
    interactive_complexity: InteractiveComplexityRule
    digital_em_capable_credentials: frozenset[str]
    digital_bands: tuple[DigitalBand, ...]
    telehealth: TelehealthCoding
    add_on_primaries: Mapping[str, frozenset[str]]
    max_units: Mapping[str, int]
    default_max_units: int
    known_modifiers: frozenset[str]
    limits: ClaimLimits
    known_codes: frozenset[str]

    def psychotherapy_band(self, minutes: int) -> TimeBand | None:
        for band in self.psychotherapy_bands:
            if band.contains(minutes):
                return band
        return None

    def digital_band(self, minutes: int) -> DigitalBand | None:
        for band in self.digital_bands:
            if band.contains(minutes):
                return band
        return None

    @property
    def digital_codes(self) -> frozenset[str]:
        return frozenset(c for b in self.digital_bands for c in (b.qhp, b.em_capable))


# ---------------------------------------------------------------- payer terms


@dataclass(frozen=True, slots=True)
class TelehealthTerms:
    covered: bool
    audio_only_covered: bool
    pos_home: str
    pos_other: str
    modifier_video: str | None
    modifier_audio_only: str | None


@dataclass(frozen=True, slots=True)
class PayerTerms:
    payer_id: str
    name: str
    version: str
    effective_from: date
    effective_to: date | None
    telehealth: TelehealthTerms
    digital_em_covered: bool
    interactive_complexity_excluded_with: frozenset[str]
    principal_dx_allowed_prefixes: tuple[str, ...]
    principal_dx_refused_prefixes: tuple[str, ...]
    # False: the payer answers no eligibility inquiries (270/271), so a claim does not wait for a check on file
    eligibility_on_file_required: bool
    timely_filing_days: int
    timely_filing_warning_days: int
    claim_filing_indicator: str
    credential_modifiers: Mapping[str, str]
    max_units: Mapping[str, int]


# ---------------------------------------------------------------- fees


@dataclass(frozen=True, slots=True)
class FeeEntry:
    charge: Decimal
    contracted: Decimal | None


@dataclass(frozen=True, slots=True)
class FeeSchedule:
    payer_id: str
    version: str
    effective_from: date
    effective_to: date | None
    rates: Mapping[str, FeeEntry]


@dataclass(frozen=True, slots=True)
class SelfPayRates:
    version: str
    effective_from: date
    effective_to: date | None
    rates: Mapping[str, Decimal]


@dataclass(frozen=True, slots=True)
class Fee:
    """A fee found for a code on a date, with the schedule version that set it."""

    charge: Decimal
    contracted: Decimal | None
    schedule_version: str


# ---------------------------------------------------------------- loader helpers


def _req(data: Mapping[str, Any], key: str, where: str) -> Any:
    if not isinstance(data, Mapping) or key not in data:
        raise InvalidRules(f"{where}.{key} is required")
    return data[key]


def _date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise InvalidRules(f"{where} is not an ISO date") from exc


def _opt_date(value: Any, where: str) -> date | None:
    return None if value is None else _date(value, where)


def _money(value: Any, where: str) -> Decimal:
    if isinstance(value, float):
        raise InvalidRules(f"{where} must be a quoted decimal string, not a float")
    try:
        return Decimal(str(value)).quantize(CENT)
    except InvalidOperation as exc:
        raise InvalidRules(f"{where} is not a decimal amount") from exc


def _codes(values: Any, where: str) -> frozenset[str]:
    if not isinstance(values, list):
        raise InvalidRules(f"{where} must be a list")
    return frozenset(str(v) for v in values)


def _deep_merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _band_high(value: Any) -> int | None:
    return None if value is None else int(value)


def _coding_ruleset(raw: Mapping[str, Any], where: str) -> CodingRuleset:
    psy = _req(raw, "psychotherapy", where)
    bands = tuple(
        TimeBand(str(b["rule"]), int(b["from"]), _band_high(b["to"]), str(b["alone"]), b.get("with_em"))
        for b in _req(psy, "bands", f"{where}.psychotherapy")
    )
    cr = _req(raw, "crisis", where)
    crisis = CrisisRule(
        rule_id=str(cr["rule"]), addon_rule_id=str(cr["addon_rule"]), short_rule_id=str(cr["short_rule"]),
        first_code=str(cr["first_code"]), minimum=int(cr["minimum"]), first_to=int(cr["first_to"]),
        addon_code=str(cr["addon_code"]), addon_block=int(cr["addon_block"]),
    )
    fam = _req(raw, "family", where)
    family = FamilyRule(
        minimum=int(fam["minimum"]),
        without_patient=CodeRule(str(fam["without_patient"]["rule"]), str(fam["without_patient"]["code"])),
        with_patient=CodeRule(str(fam["with_patient"]["rule"]), str(fam["with_patient"]["code"])),
    )
    untimed = {
        str(kind): CodeRule(str(v["rule"]), str(v["code"])) for kind, v in _req(raw, "untimed", where).items()
    }
    em = _req(raw, "evaluation_management", where)
    ic = _req(raw, "interactive_complexity", where)
    interactive = InteractiveComplexityRule(
        str(ic["rule"]), str(ic["code"]), _codes(ic["allowed_with"], f"{where}.interactive_complexity"),
        _codes(ic["never_with"], f"{where}.interactive_complexity"),
    )
    dig = _req(raw, "digital_em", where)
    digital = tuple(
        DigitalBand(str(b["rule"]), int(b["from"]), _band_high(b["to"]), str(b["qhp"]), str(b["em_capable"]))
        for b in dig["bands"]
    )
    tele = _req(raw, "telehealth", where)
    telehealth = TelehealthCoding(
        str(tele["pos_rule"]), str(tele["modifier_rule"]), _codes(tele["place_of_service_codes"], where),
        _codes(tele["modifiers"], where),
    )
    add_ons = {str(k): _codes(v, f"{where}.add_on_primaries") for k, v in _req(raw, "add_on_primaries", where).items()}
    units = {str(k): int(v) for k, v in _req(raw, "max_units", where).items()}
    default_units = units.pop("default", 1)
    lim = _req(raw, "limits", where)
    limits = ClaimLimits(int(lim["max_lines"]), int(lim["max_diagnoses"]), int(lim["max_pointers_per_line"]))
    em_codes = _codes(em["codes"], f"{where}.evaluation_management")
    known = set(em_codes) | {crisis.first_code, crisis.addon_code, interactive.code}
    known |= {b.alone for b in bands} | {b.with_em for b in bands if b.with_em}
    known |= {family.with_patient.code, family.without_patient.code} | {r.code for r in untimed.values()}
    known |= {c for b in digital for c in (b.qhp, b.em_capable)}
    return CodingRuleset(
        version=str(_req(raw, "version", where)),
        effective_from=_date(_req(raw, "effective_from", where), f"{where}.effective_from"),
        effective_to=_opt_date(raw.get("effective_to"), f"{where}.effective_to"),
        psychotherapy_bands=tuple(sorted(bands, key=lambda b: b.low)),
        psychotherapy_short_add_on_rule_id=str(_req(psy, "short_add_on_rule", f"{where}.psychotherapy")),
        crisis=crisis,
        family=family,
        untimed=untimed,
        em_rule_id=str(em["rule"]),
        em_codes=em_codes,
        interactive_complexity=interactive,
        digital_em_capable_credentials=frozenset(str(c).upper() for c in dig["em_capable_credentials"]),
        digital_bands=tuple(sorted(digital, key=lambda b: b.low)),
        telehealth=telehealth,
        add_on_primaries=add_ons,
        max_units=units,
        default_max_units=int(default_units),
        known_modifiers=_codes(raw.get("known_modifiers", []), f"{where}.known_modifiers"),
        limits=limits,
        known_codes=frozenset(known),
    )


def _payer_terms(payer_id: str, name: str, raw: Mapping[str, Any], where: str) -> PayerTerms:
    tele = _req(raw, "telehealth", where)
    dx = _req(raw, "principal_diagnosis", where)
    return PayerTerms(
        payer_id=payer_id,
        name=name,
        version=str(_req(raw, "version", where)),
        effective_from=_date(raw.get("effective_from", "0001-01-01"), f"{where}.effective_from"),
        effective_to=_opt_date(raw.get("effective_to"), f"{where}.effective_to"),
        telehealth=TelehealthTerms(
            covered=bool(tele["covered"]), audio_only_covered=bool(tele["audio_only_covered"]),
            pos_home=str(tele["pos_home"]), pos_other=str(tele["pos_other"]),
            modifier_video=tele.get("modifier_video"), modifier_audio_only=tele.get("modifier_audio_only"),
        ),
        digital_em_covered=bool(raw["digital_em_covered"]),
        interactive_complexity_excluded_with=_codes(raw["interactive_complexity_excluded_with"], where),
        principal_dx_allowed_prefixes=tuple(str(p) for p in dx["allowed_prefixes"]),
        principal_dx_refused_prefixes=tuple(str(p) for p in dx["refused_prefixes"]),
        eligibility_on_file_required=bool(raw["eligibility_on_file_required"]),
        timely_filing_days=int(raw["timely_filing_days"]),
        timely_filing_warning_days=int(raw["timely_filing_warning_days"]),
        claim_filing_indicator=str(raw["claim_filing_indicator"]),
        credential_modifiers={str(k).upper(): str(v) for k, v in (raw.get("credential_modifiers") or {}).items()},
        max_units={str(k): int(v) for k, v in (raw.get("max_units") or {}).items()},
    )


# ---------------------------------------------------------------- the rulebook


class Rulebook:
    """Every rule document, queried by date of service. Build with :meth:`from_yaml` or :meth:`from_documents`."""

    def __init__(
        self,
        rulesets: Sequence[CodingRuleset],
        default_terms: PayerTerms,
        payer_terms: Mapping[str, Sequence[PayerTerms]],
        fee_schedules: Mapping[str, Sequence[FeeSchedule]],
        self_pay: Sequence[SelfPayRates],
    ) -> None:
        _check_no_overlap(rulesets, "coding rulesets")
        for payer_id, terms in payer_terms.items():
            _check_no_overlap(terms, f"payer {payer_id} terms")
        for payer_id, schedules in fee_schedules.items():
            _check_no_overlap(schedules, f"fee schedules of {payer_id}")
        _check_no_overlap(self_pay, "self-pay rates")
        self._rulesets = tuple(rulesets)
        self._default_terms = default_terms
        self._payer_terms = {k: tuple(v) for k, v in payer_terms.items()}
        self._fees = {k: tuple(v) for k, v in fee_schedules.items()}
        self._self_pay = tuple(self_pay)

    @classmethod
    def from_yaml(cls, coding: str, payers: str, fees: str) -> Rulebook:
        docs = []
        for name, text in (("coding", coding), ("payers", payers), ("fees", fees)):
            try:
                docs.append(yaml.safe_load(text))
            except yaml.YAMLError as exc:
                raise InvalidRules(f"{name}.yaml is not valid YAML") from exc
        return cls.from_documents(docs[0], docs[1], docs[2])

    @classmethod
    def from_documents(
        cls, coding: Mapping[str, Any], payers: Mapping[str, Any], fees: Mapping[str, Any]
    ) -> Rulebook:
        rulesets = [
            _coding_ruleset(raw, f"rulesets[{i}]") for i, raw in enumerate(_req(coding, "rulesets", "coding"))
        ]
        defaults = _req(payers, "defaults", "payers")
        default_terms = _payer_terms("*", "default", defaults, "payers.defaults")
        terms: dict[str, list[PayerTerms]] = {}
        for i, payer in enumerate(payers.get("payers") or []):
            payer_id = str(_req(payer, "payer_id", f"payers[{i}]"))
            for j, override in enumerate(_req(payer, "terms", f"payers[{i}]")):
                where = f"payers[{i}].terms[{j}]"
                _req(override, "effective_from", where)
                merged = _deep_merge(defaults, override)
                terms.setdefault(payer_id, []).append(
                    _payer_terms(payer_id, str(payer.get("name", payer_id)), merged, where)
                )
        schedules: dict[str, list[FeeSchedule]] = {}
        for i, raw in enumerate(_req(fees, "fee_schedules", "fees")):
            where = f"fee_schedules[{i}]"
            rates = {
                str(code): FeeEntry(
                    _money(_req(v, "charge", f"{where}.rates.{code}"), f"{where}.rates.{code}.charge"),
                    None if v.get("contracted") is None else _money(v["contracted"], f"{where}.rates.{code}"),
                )
                for code, v in _req(raw, "rates", where).items()
            }
            schedules.setdefault(str(_req(raw, "payer_id", where)), []).append(
                FeeSchedule(
                    str(raw["payer_id"]), str(_req(raw, "version", where)),
                    _date(_req(raw, "effective_from", where), f"{where}.effective_from"),
                    _opt_date(raw.get("effective_to"), f"{where}.effective_to"), rates,
                )
            )
        self_pay = [
            SelfPayRates(
                str(_req(raw, "version", f"self_pay[{i}]")),
                _date(_req(raw, "effective_from", f"self_pay[{i}]"), f"self_pay[{i}].effective_from"),
                _opt_date(raw.get("effective_to"), f"self_pay[{i}].effective_to"),
                {str(k): _money(v, f"self_pay[{i}].rates.{k}") for k, v in raw["rates"].items()},
            )
            for i, raw in enumerate(fees.get("self_pay") or [])
        ]
        return cls(rulesets, default_terms, terms, schedules, self_pay)

    def coding_ruleset(self, on: date) -> CodingRuleset:
        ruleset = _in_force(self._rulesets, on)
        if ruleset is None:
            raise RulesetNotFound("no coding ruleset in force on the date of service")
        return ruleset

    def payer_terms(self, payer_id: str, on: date) -> PayerTerms:
        """The payer's terms in force on ``on``; a payer the rulebook does not list gets the defaults."""
        versions = self._payer_terms.get(payer_id)
        if versions is None:
            return self._default_terms
        terms = _in_force(versions, on)
        if terms is None:
            raise RulesetNotFound(f"no terms for payer {payer_id} in force on the date of service")
        return terms

    def fee(self, payer_id: str | None, on: date, code: str, modifiers: Sequence[str] = ()) -> Fee | None:
        """The payer's rate for CPT[:modifier] (most specific key first), else the practice chargemaster's."""
        keys = [f"{code}:{m}" for m in modifiers] + [code]
        for schedule_payer in ((payer_id, "*") if payer_id else ("*",)):
            schedule = _in_force(self._fees.get(schedule_payer, ()), on)
            if schedule is None:
                continue
            for key in keys:
                entry = schedule.rates.get(key)
                if entry is not None:
                    return Fee(entry.charge, entry.contracted, schedule.version)
        return None

    def self_pay_rate(self, on: date, code: str) -> Fee | None:
        table = _in_force(self._self_pay, on)
        if table is None or code not in table.rates:
            return None
        return Fee(table.rates[code], table.rates[code], table.version)
