"""Appeals of denials (pure; rules as data: ``rules/appeals.yaml``).

Public API::

    rules = AppealRules.from_mapping(data)
    rules.levels(payer_id, on=day) -> tuple[AppealLevel, ...]          # first level, second level, external review
    rules.next_level(payer_id, on=day, decided=[...]) -> AppealLevel    # the level after those already decided
    AppealLevel.deadline(denied_on, previous_decision_on) -> date        # the last day to file it
    rules.letter(category) -> LetterTemplate                             # the letter's wording per denial category
    appeal_deadline_state(due_on, filed_on, today, soon_days) -> "filed" | "late" | "due" | "open"
    success_rates(decided) -> list[SuccessRate]                          # by payer and category

A level's deadline counts days from the denial (the ERA that denied it) or from the previous level's decision,
as the payer's contract or plan says; the levels and days are effective-dated (the block in force on the day
the denial was raised applies).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, Literal

from remittance.domain.denials import DenialRulesError, Effective, effective_of

OUTCOMES = ("overturned", "partially_overturned", "upheld", "withdrawn")
WON = frozenset({"overturned", "partially_overturned"})


class AppealRulesError(ValueError):
    """The appeals rules file is malformed (the message names the field)."""


class NoFurtherAppeal(ValueError):
    """Every level the payer allows was decided already."""

    def __init__(self) -> None:
        super().__init__("the payer allows no further appeal level")


@dataclass(frozen=True, slots=True)
class AppealLevel:
    level: str  # first_level, second_level, external_review
    days: int
    counted_from: Literal["denial", "previous_decision"]

    def deadline(self, denied_on: date, previous_decision_on: date | None) -> date:
        start = denied_on if self.counted_from == "denial" or previous_decision_on is None else previous_decision_on
        return start + timedelta(days=self.days)


@dataclass(frozen=True, slots=True)
class LetterTemplate:
    subject: str
    argument: str
    enclosures: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Block:
    effective: Effective
    default: tuple[AppealLevel, ...]
    payers: Mapping[str, tuple[AppealLevel, ...]]


def _levels(raw: Any, where: str) -> tuple[AppealLevel, ...]:
    if not isinstance(raw, list) or not raw:
        raise AppealRulesError(f"{where} lists at least one level")
    levels = []
    for i, item in enumerate(raw):
        counted = item.get("from", "denial")
        if counted not in ("denial", "previous_decision") or not item.get("level"):
            raise AppealRulesError(f"{where}[{i}] needs a level and from: denial | previous_decision")
        days = int(item.get("days", 0))
        if days <= 0:
            raise AppealRulesError(f"{where}[{i}].days must be positive")
        levels.append(AppealLevel(str(item["level"]), days, counted))
    if levels[0].counted_from != "denial":
        raise AppealRulesError(f"{where}[0] is counted from the denial")
    return tuple(levels)


@dataclass(frozen=True, slots=True)
class AppealRules:
    blocks: tuple[_Block, ...]
    letters: Mapping[str, LetterTemplate]

    @classmethod
    def from_mapping(cls, data: Any) -> AppealRules:
        if not isinstance(data, Mapping):
            raise AppealRulesError("appeal rules must be a mapping")
        blocks = []
        for i, block in enumerate(data.get("levels") or []):
            where = f"levels[{i}]"
            try:
                effective = effective_of(block, where)
            except DenialRulesError as exc:  # the same dating as the denial rules, named for this file
                raise AppealRulesError(str(exc)) from None
            payers = {str(payer): _levels(levels, f"{where}.payers.{payer}")
                      for payer, levels in (block.get("payers") or {}).items()}
            blocks.append(_Block(effective, _levels(block.get("default"), f"{where}.default"), payers))
        letters = {}
        for category, raw in (data.get("letters") or {}).items():
            if not raw.get("subject") or not raw.get("argument"):
                raise AppealRulesError(f"letters.{category} needs a subject and an argument")
            letters[str(category)] = LetterTemplate(str(raw["subject"]), " ".join(str(raw["argument"]).split()),
                                                    tuple(str(e) for e in raw.get("enclosures") or ()))
        if not blocks or "default" not in letters:
            raise AppealRulesError("a levels block and a default letter are required")
        return cls(tuple(blocks), letters)

    def levels(self, payer_id: str | None, *, on: date) -> tuple[AppealLevel, ...]:
        for block in sorted(self.blocks, key=lambda b: b.effective.effective_from, reverse=True):
            if block.effective.covers(on):
                return block.payers.get(payer_id or "", block.default)
        raise AppealRulesError("no appeal levels in effect on the given date")

    def next_level(self, payer_id: str | None, *, on: date, decided: Sequence[str]) -> AppealLevel:
        """The first level not decided yet (levels are climbed in order: a level upheld opens the next)."""
        levels = self.levels(payer_id, on=on)
        if len(decided) >= len(levels):
            raise NoFurtherAppeal()
        return levels[len(decided)]

    def letter(self, category: str) -> LetterTemplate:
        return self.letters.get(category, self.letters["default"])


def appeal_deadline_state(due_on: date, filed_on: date | None, today: date, soon_days: int = 14) -> str:
    """Where an appeal stands against its filing deadline: filed (in time or not), late (past it, not filed),
    due (within ``soon_days``), open."""
    if filed_on is not None:
        return "filed"
    if today > due_on:
        return "late"
    return "due" if (due_on - today).days <= soon_days else "open"


@dataclass(frozen=True, slots=True)
class DecidedAppeal:
    payer_id: str
    category: str
    outcome: str
    amount: Decimal


@dataclass(frozen=True, slots=True)
class SuccessRate:
    payer_id: str
    category: str
    decided: int
    won: int
    rate: Decimal
    amount_appealed: Decimal


def success_rates(decided: Iterable[DecidedAppeal]) -> list[SuccessRate]:
    """Appeals decided (withdrawn ones are not decisions) and the share the payer overturned in whole or in part,
    by payer and denial category."""
    groups: dict[tuple[str, str], list[DecidedAppeal]] = defaultdict(list)
    for appeal in decided:
        if appeal.outcome != "withdrawn":
            groups[(appeal.payer_id, appeal.category)].append(appeal)
    rates = []
    for (payer, category), appeals in sorted(groups.items()):
        won = sum(1 for a in appeals if a.outcome in WON)
        rates.append(SuccessRate(payer, category, len(appeals), won,
                                 (Decimal(won) / len(appeals)).quantize(Decimal("0.0001")),
                                 sum((a.amount for a in appeals), Decimal("0"))))
    return rates
