"""Denial classification, routing, pattern detection and underpayment checks (pure, rules as data).

Public API::

    rules = DenialRules.from_mapping(yaml.safe_load(text_of("rules/denials.yaml")))   # or DenialRules.from_yaml(text)
    DenialClassifier(rules).classify(claim_payment, *, as_of=None) -> list[Denial]
    DenialRouter(rules).route(category, amount, *, as_of=None) -> str                # the first queue
    DenialRouter(rules).queues(category, amount, *, as_of=None) -> tuple[str, ...]   # every queue it reaches
    DenialPatternDetector(rules).detect(history: Iterable[DenialOccurrence], *, as_of=None) -> list[DenialPattern]
    DenialPatternWatch(rules, history).raise_and_check(occurrence, as_of=day) -> bool  # many denials in a row
    UnderpaymentCheck(rates: Iterable[ContractedRate]).check(claim_payment) -> list[Underpayment]

What counts as a denial: CO / PI / OA adjustments other than the contract's own reductions (CARC 45 fee
schedule and the other ``non_denial_reasons``), every non-PR adjustment when the claim or line paid nothing
(except the ``prior_payer_reasons``: a next payer's report of what the payer before it did), and a CLP02 = 4
claim. PR adjustments are patient responsibility, never denials; reversals (CLP02 = 22)
are not classified. ``as_of`` picks the effective-dated rule block (None: the newest block).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Protocol, TypeVar

import yaml

from remittance.domain.model import ZERO, Adjustment, ClaimPayment, ServiceLine

_CENT = Decimal("0.01")

CATEGORIES = (
    "authorization_exhausted_or_missing", "not_covered_mh_benefit_or_carve_out", "visit_limit_exceeded",
    "telehealth_limitation", "provider_not_credentialed", "coding", "eligibility",
    "documentation_medical_necessity", "timely_filing", "duplicate", "coordination_of_benefits", "other",
)


class DenialRulesError(ValueError):
    """The rules file is malformed (named field, no PHI)."""


def _as_date(value: Any, field_name: str) -> date | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise DenialRulesError(f"{field_name} is not an ISO date") from None


@dataclass(frozen=True, slots=True)
class Effective:
    effective_from: date
    effective_to: date | None

    def covers(self, day: date) -> bool:
        return self.effective_from <= day and (self.effective_to is None or day < self.effective_to)


@dataclass(frozen=True, slots=True)
class CategoryMapping:
    carcs: frozenset[str]
    groups: frozenset[str]
    rarcs: frozenset[str]
    category: str
    action: str

    @property
    def specificity(self) -> int:
        return (2 if self.rarcs else 0) + (1 if self.groups else 0)

    def matches(self, group: str, reason: str, remarks: frozenset[str]) -> bool:
        return (reason in self.carcs and (not self.groups or group in self.groups)
                and (not self.rarcs or not self.rarcs.isdisjoint(remarks)))


@dataclass(frozen=True, slots=True)
class ClassificationRules:
    effective: Effective
    non_denial_reasons: frozenset[str]
    mappings: tuple[CategoryMapping, ...]  # most specific first
    default_category: str
    default_action: str
    prior_payer_reasons: frozenset[str] = frozenset()

    def categorize(self, group: str, reason: str, remarks: frozenset[str]) -> tuple[str, str]:
        for mapping in self.mappings:
            if mapping.matches(group, reason, remarks):
                return mapping.category, mapping.action
        return self.default_category, self.default_action


@dataclass(frozen=True, slots=True)
class RoutingRule:
    """``also``: a match adds the queue and the rules after it are still read (the seed's escalation model: a
    documentation denial over 250 reaches the senior biller and the clinical liaison). A catch-all (no amount,
    no categories) applies only when no rule before it matched."""

    queue: str
    amount_over: Decimal | None
    categories: frozenset[str]
    also: bool = False

    @property
    def catch_all(self) -> bool:
        return self.amount_over is None and not self.categories

    def matches(self, category: str, amount: Decimal) -> bool:
        if self.amount_over is not None and not amount > self.amount_over:
            return False
        return not self.categories or category in self.categories


@dataclass(frozen=True, slots=True)
class RoutingRules:
    effective: Effective
    rules: tuple[RoutingRule, ...]


@dataclass(frozen=True, slots=True)
class PatternRules:
    effective: Effective
    window_days: int
    visits_over: int
    queue: str
    by: tuple[str, ...] = ("category",)  # category and/or payer


def effective_of(block: Mapping[str, Any], where: str) -> Effective:
    """A rules block's [effective_from, effective_to) (``where`` names it in the error)."""
    start = _as_date(block.get("effective_from"), f"{where}.effective_from")
    if start is None:
        raise DenialRulesError(f"{where}.effective_from is required")
    return Effective(start, _as_date(block.get("effective_to"), f"{where}.effective_to"))


def _codes(value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        raise DenialRulesError("code lists must be lists")
    return frozenset(str(v) for v in value)


class _Dated(Protocol):
    @property
    def effective(self) -> Effective: ...


_D = TypeVar("_D", bound=_Dated)


def _pick(blocks: Sequence[_D], as_of: date | None, what: str) -> _D:
    for block in sorted(blocks, key=lambda b: b.effective.effective_from, reverse=True):
        if as_of is None or block.effective.covers(as_of):
            return block
    raise DenialRulesError(f"no {what} rules in effect on the given date")


@dataclass(frozen=True, slots=True)
class DenialRules:
    classification: tuple[ClassificationRules, ...]
    routing: tuple[RoutingRules, ...]
    patterns: tuple[PatternRules, ...]

    @classmethod
    def from_yaml(cls, text: str) -> DenialRules:
        return cls.from_mapping(yaml.safe_load(text))

    @classmethod
    def from_mapping(cls, data: Any) -> DenialRules:
        if not isinstance(data, Mapping):
            raise DenialRulesError("denial rules must be a mapping")
        classification = []
        for i, block in enumerate(data.get("classification") or []):
            where = f"classification[{i}]"
            mappings = []
            for j, raw in enumerate(block.get("mappings") or []):
                category = str(raw.get("category", ""))
                if category not in CATEGORIES:
                    raise DenialRulesError(f"{where}.mappings[{j}].category is not a known category")
                if not raw.get("action"):
                    raise DenialRulesError(f"{where}.mappings[{j}].action is required")
                mappings.append(CategoryMapping(_codes(raw.get("carc")), _codes(raw.get("group")),
                                                _codes(raw.get("rarc")), category, str(raw["action"])))
            ordered = sorted(enumerate(mappings), key=lambda p: (-p[1].specificity, p[0]))
            default = block.get("default") or {"category": "other", "action": "review_and_decide"}
            if default.get("category") not in CATEGORIES:
                raise DenialRulesError(f"{where}.default.category is not a known category")
            classification.append(ClassificationRules(
                effective_of(block, where), _codes(block.get("non_denial_reasons")),
                tuple(m for _, m in ordered), str(default["category"]), str(default["action"]),
                _codes(block.get("prior_payer_reasons"))))
        routing = []
        for i, block in enumerate(data.get("routing") or []):
            rules = []
            for raw in block.get("rules") or []:
                over = raw.get("amount_over")
                rules.append(RoutingRule(str(raw["queue"]), None if over is None else Decimal(str(over)),
                                         _codes(raw.get("categories")), bool(raw.get("also", False))))
            if not rules or rules[-1].amount_over is not None or rules[-1].categories:
                raise DenialRulesError(f"routing[{i}] must end with a catch-all rule")
            routing.append(RoutingRules(effective_of(block, f"routing[{i}]"), tuple(rules)))
        patterns = []
        for i, block in enumerate(data.get("patterns") or []):
            by = tuple(str(b) for b in block.get("by") or ["category"])
            if not set(by) <= {"category", "payer"}:
                raise DenialRulesError(f"patterns[{i}].by lists category and/or payer")
            patterns.append(PatternRules(effective_of(block, f"patterns[{i}]"), int(block["window_days"]),
                                         int(block["visits_over"]), str(block["queue"]), by))
        if not classification or not routing or not patterns:
            raise DenialRulesError("classification, routing and patterns blocks are all required")
        return cls(tuple(classification), tuple(routing), tuple(patterns))

    def classification_on(self, as_of: date | None) -> ClassificationRules:
        return _pick(self.classification, as_of, "classification")

    def routing_on(self, as_of: date | None) -> RoutingRules:
        return _pick(self.routing, as_of, "routing")

    def patterns_on(self, as_of: date | None) -> PatternRules:
        return _pick(self.patterns, as_of, "pattern")


@dataclass(frozen=True, slots=True)
class Denial:
    """A denied (or partly denied) claim or line, grouped by root-cause category."""

    patient_control_number: str
    payer_claim_number: str
    claim_ordinal: int
    line_ordinal: int | None
    procedure_code: str | None
    category: str
    suggested_action: str
    group_code: str
    reason_codes: tuple[str, ...]
    remark_codes: tuple[str, ...]
    amount: Decimal
    queue: str  # the first of ``queues`` (the denial row's and the denial-raised event's queue)
    queues: tuple[str, ...] = ()


class DenialRouter:
    def __init__(self, rules: DenialRules) -> None:
        self.rules = rules
        self._on: dict[date | None, RoutingRules] = {}  # the rules are immutable: one pick per date

    def route(self, category: str, amount: Decimal, *, as_of: date | None = None) -> str:
        return self.queues(category, amount, as_of=as_of)[0]

    def queues(self, category: str, amount: Decimal, *, as_of: date | None = None) -> tuple[str, ...]:
        """Every queue the denial reaches, in rule order: matches with ``also`` add theirs and read on; the first
        other match ends the reading (a catch-all only when nothing matched before it)."""
        block = self._on.get(as_of)
        if block is None:
            block = self._on[as_of] = self.rules.routing_on(as_of)
        found: list[str] = []
        for rule in block.rules:
            if rule.catch_all and found:
                break
            if rule.matches(category, amount):
                if rule.queue not in found:
                    found.append(rule.queue)
                if not rule.also:
                    break
        if not found:
            raise DenialRulesError("routing rules have no catch-all")  # the loader forbids this
        return tuple(found)

    def all_queues(self) -> frozenset[str]:
        """Every queue any routing block names (the work queues remittance owns for denials)."""
        return frozenset(rule.queue for block in self.rules.routing for rule in block.rules)


class DenialClassifier:
    """Classifies the denials in one claim payment (see the module docstring for what counts).

    One classifier serves a whole ERA: the rule block per date of service and the category per (rule
    block, group, CARC, RARCs) are worked out once and remembered (the rules are immutable)."""

    def __init__(self, rules: DenialRules) -> None:
        self.rules = rules
        self.router = DenialRouter(rules)
        self._on: dict[date | None, ClassificationRules] = {}
        self._categories: dict[tuple[int, str, str, frozenset[str]], tuple[str, str]] = {}

    def _categorize(self, rules: ClassificationRules, group: str, reason: str,
                    remarks: frozenset[str]) -> tuple[str, str]:
        key = (id(rules), group, reason, remarks)  # rules is one of self.rules' blocks: alive, id stable
        found = self._categories.get(key)
        if found is None:
            found = self._categories[key] = rules.categorize(group, reason, remarks)
        return found

    def classify(self, payment: ClaimPayment, *, as_of: date | None = None) -> list[Denial]:
        if payment.is_reversal:
            return []
        rules = self._on.get(as_of)
        if rules is None:
            rules = self._on[as_of] = self.rules.classification_on(as_of)
        prior, contractual = rules.prior_payer_reasons, rules.non_denial_reasons
        claim_remarks = payment.remarks
        claim_zero_paid = payment.paid == 0 and payment.charge != 0
        denials: list[Denial] = []
        scopes: list[tuple[ServiceLine | None, list[Adjustment], bool]] = [
            (None, payment.adjustments, claim_zero_paid)]
        for line in payment.lines:
            if line.has_adjustments:  # a line without CAS denies nothing
                scopes.append((line, line.adjustments, claim_zero_paid or (line.paid == 0 and line.charge != 0)))
        for scope_line, adjustments, zero_paid in scopes:
            denied = [a for a in adjustments if a.group != "PR" and a.reason not in prior and (
                zero_paid or a.reason not in contractual)]
            if denied:
                remarks = claim_remarks if scope_line is None else claim_remarks + scope_line.remarks
                denials.extend(self._group(payment, scope_line, denied, remarks, rules, as_of))
        if payment.is_denied and not denials:
            # CLP02 = 4 with nothing but PR or no CAS at all: one claim-level denial for what was not paid
            reasons = [a for a in payment.all_adjustments if a.group != "PR"] or payment.all_adjustments
            category, action = (self._categorize(rules, reasons[0].group, reasons[0].reason, frozenset(claim_remarks))
                                if reasons else (rules.default_category, rules.default_action))
            amount = payment.charge - payment.paid
            queues = self.router.queues(category, amount, as_of=as_of)
            denials.append(Denial(
                payment.patient_control_number, payment.payer_claim_number, payment.ordinal, None, None,
                category, action, reasons[0].group if reasons else "", tuple(a.reason for a in reasons),
                tuple(claim_remarks), amount, queues[0], queues))
        return denials

    def _group(self, payment: ClaimPayment, line: ServiceLine | None, denied: list[Adjustment],
               remarks: list[str], rules: ClassificationRules, as_of: date | None) -> list[Denial]:
        remark_set = frozenset(remarks)
        by_category: dict[tuple[str, str], list[Adjustment]] = defaultdict(list)
        for adjustment in denied:
            by_category[self._categorize(rules, adjustment.group, adjustment.reason, remark_set)].append(adjustment)
        result = []
        for (category, action), items in by_category.items():
            amount = sum((a.amount for a in items), ZERO)
            if amount <= 0:
                continue  # negative or netted-out adjustments are not money lost
            main = max(items, key=lambda a: a.amount)
            queues = self.router.queues(category, amount, as_of=as_of)
            result.append(Denial(
                payment.patient_control_number, payment.payer_claim_number, payment.ordinal,
                line.ordinal if line else None, line.procedure.code if line else None, category, action,
                main.group, tuple(dict.fromkeys(a.reason for a in items)), tuple(dict.fromkeys(remarks)), amount,
                queues[0], queues))
        return result


@dataclass(frozen=True, slots=True)
class DenialOccurrence:
    """One denial in the history the pattern detector reads (ids only, no PHI)."""

    occurred_on: date
    category: str
    visit_id: str
    claim_id: str


@dataclass(frozen=True, slots=True)
class DenialPattern:
    category: str
    window_start: date
    window_end: date
    visit_count: int
    visit_ids: tuple[str, ...]
    claim_ids: tuple[str, ...]
    queue: str


class DenialPatternDetector:
    """Flags a category whose denials touch more than N distinct visits inside any window of D days."""

    def __init__(self, rules: DenialRules) -> None:
        self.rules = rules

    def detect(self, history: Iterable[DenialOccurrence], *, as_of: date | None = None) -> list[DenialPattern]:
        config = self.rules.patterns_on(as_of)
        span = timedelta(days=config.window_days - 1)  # a 30-day window is day d-29 .. d inclusive
        by_category: dict[str, list[DenialOccurrence]] = defaultdict(list)
        for item in history:
            by_category[item.category].append(item)
        patterns = []
        for category, items in sorted(by_category.items()):
            items.sort(key=lambda o: o.occurred_on)
            start = 0
            for end, last in enumerate(items):
                while items[start].occurred_on < last.occurred_on - span:
                    start += 1
                window = items[start:end + 1]
                visits = sorted({o.visit_id for o in window})
                if len(visits) > config.visits_over:
                    patterns.append(DenialPattern(
                        category, last.occurred_on - span, last.occurred_on, len(visits), tuple(visits),
                        tuple(sorted({o.claim_id for o in window})), config.queue))
                    break  # one alert per category: the first window that crosses the line
        return patterns


class DenialPatternWatch:
    """The pattern check for many denials raised in a row (one ERA), without re-reading the history each time.

    ``history`` is what is stored from the earliest window any of the run's denials needs on. For each new
    denial, ``raise_and_check`` answers what ``DenialPatternDetector.detect`` answers for the category's
    history from ``window_days`` before ``as_of`` on plus this denial (the denials raised before it in the
    run included). Denials only accumulate during a run, so a (category, window start, rules) that crossed
    the line stays crossed: after the first alert the answer is a set lookup.
    """

    def __init__(self, rules: DenialRules, history: Iterable[DenialOccurrence] = ()) -> None:
        self.rules = rules
        self.detector = DenialPatternDetector(rules)
        self._by_category: dict[str, list[DenialOccurrence]] = defaultdict(list)
        for item in history:
            self._by_category[item.category].append(item)
        self._crossed: set[tuple[str, date, PatternRules]] = set()

    def window_start(self, as_of: date) -> date:
        """The earliest date of service the check for a denial on ``as_of`` reads."""
        return date.fromordinal(max(as_of.toordinal() - self.rules.patterns_on(as_of).window_days, 1))

    def raise_and_check(self, occurrence: DenialOccurrence, *, as_of: date) -> bool:
        """Add the denial; True when its category now shows a pattern in the window that ``as_of`` reads."""
        config = self.rules.patterns_on(as_of)
        since = self.window_start(as_of)
        items = self._by_category[occurrence.category]
        items.append(occurrence)
        key = (occurrence.category, since, config)
        if key in self._crossed:
            return True
        window = [item for item in items if item.occurred_on >= since or item is occurrence]
        alert = any(p.category == occurrence.category for p in self.detector.detect(window, as_of=as_of))
        if alert:
            self._crossed.add(key)
        return alert


@dataclass(frozen=True, slots=True)
class ContractedRate:
    """What the contract says a procedure (with these modifiers; () = any) pays per unit."""

    procedure_code: str
    rate: Decimal
    modifiers: tuple[str, ...] = ()
    effective_from: date = date.min
    effective_to: date | None = None

    def covers(self, day: date | None) -> bool:
        return day is None or (self.effective_from <= day and (self.effective_to is None or day < self.effective_to))


@dataclass(frozen=True, slots=True)
class Underpayment:
    patient_control_number: str
    line_ordinal: int
    procedure_code: str
    expected: Decimal
    allowed: Decimal
    shortfall: Decimal


class UnderpaymentCheck:
    """Flags lines whose allowed amount (AMT*B6, else paid + patient share) is below contract x units.

    Denied lines (paid zero) are denials, not underpayments, and reversals are skipped.
    """

    def __init__(self, rates: Iterable[ContractedRate]) -> None:
        self.rates: dict[str, list[ContractedRate]] = defaultdict(list)
        for rate in rates:
            self.rates[rate.procedure_code].append(rate)

    def rate_for(self, code: str, modifiers: tuple[str, ...], day: date | None) -> ContractedRate | None:
        """The first rate in effect for exactly these modifiers, else the first with none."""
        generic = None
        for rate in self.rates.get(code, ()):
            if not rate.covers(day):
                continue
            if rate.modifiers:
                if rate.modifiers == modifiers:
                    return rate
            elif generic is None:
                generic = rate
        return generic

    def check(self, payment: ClaimPayment) -> list[Underpayment]:
        if payment.is_reversal:
            return []
        flagged = []
        claim_day = payment.dates.get("232")
        for line in payment.lines:
            paid = line.paid
            if paid <= 0:
                continue
            procedure = line.procedure
            rate = self.rate_for(procedure.code, procedure.modifiers, line.service_date or claim_day)
            if rate is None:
                continue
            expected = (rate.rate * line.units_paid).quantize(_CENT)
            allowed = line.allowed
            if allowed is None:
                allowed = paid + line.adjustment_sum("PR")
            if allowed < expected:
                flagged.append(Underpayment(payment.patient_control_number, line.ordinal, procedure.code,
                                            expected, allowed, expected - allowed))
        return flagged
